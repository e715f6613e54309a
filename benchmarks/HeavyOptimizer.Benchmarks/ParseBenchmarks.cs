using BenchmarkDotNet.Attributes;
using HeavyOptimizer.Core.Data;

namespace HeavyOptimizer.Benchmarks;

/// <summary>CSV parse of a generated 25,544 x 82 file (the production shape).</summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private string _path = null!;

    [GlobalSetup]
    public void Setup() => _path = Inputs.Generated(25_544, 82);

    [Benchmark]
    public int Parse25544x82() => CsvDatasetReader.Read(_path).Matrix.Count;
}
