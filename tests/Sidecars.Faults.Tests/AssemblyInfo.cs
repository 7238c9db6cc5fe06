// Fault scenarios measure recovery and time bounds on a shared machine: one at a time, so that no scenario's load
// (the overload above all) lands on another's processes.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
