// Each test class starts its own cluster; on a 2-core machine clusters running side by side starve each other's
// failure detectors and timeouts, so the classes run one after the other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
