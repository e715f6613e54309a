using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(HeavyOptimizer.Benchmarks.Inputs).Assembly).Run(args);
