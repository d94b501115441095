/* SPDX-License-Identifier: MIT */
/* Every probe, one line each, in the order a run reports them. */
PROBE(probe_vm_sequential_in_one_thread)
PROBE(probe_vm_two_in_one_thread)
PROBE(probe_vm_destroy_after_refused_create)
PROBE(probe_vm_two_in_two_threads)
PROBE(probe_vm_two_in_two_processes)
PROBE(probe_mem_two_maps)
