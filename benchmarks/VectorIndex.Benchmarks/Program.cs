using BenchmarkDotNet.Running;

// Run all:        dotnet run -c Release --project benchmarks/VectorIndex.Benchmarks -- --filter '*'
// One class:      dotnet run -c Release --project benchmarks/VectorIndex.Benchmarks -- --filter '*KernelBenchmarks*'
// Quick look:     add --job short
BenchmarkSwitcher.FromAssembly(typeof(VectorIndex.Benchmarks.KernelBenchmarks).Assembly).Run(args);
