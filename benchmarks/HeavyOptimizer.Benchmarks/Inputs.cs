using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Sampling;

namespace HeavyOptimizer.Benchmarks;

/// <summary>Benchmark inputs: the real file when ../shared is present, generated files otherwise (fixed seeds).</summary>
public static class Inputs
{
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), "hopt-bench");

    /// <summary>A generated file of the production width, written once per machine.</summary>
    public static string Generated(int strategies, int rows)
    {
        Directory.CreateDirectory(Cache);
        var path = Path.Combine(Cache, $"sample_{strategies}x{rows}_seed7.csv");
        if (!File.Exists(path))
        {
            SampleGenerator.Write(path, strategies, rows, 7);
        }

        return path;
    }

    /// <summary>shared/data/sensex_2500.csv when it can be found above the working directory, else a generated 2,500 x 82 file.</summary>
    public static string Sensex()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "sensex_2500.csv");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Generated(2500, 82);
    }

    /// <summary>Random distinct portfolios to evaluate.</summary>
    public static int[][] Portfolios(int universe, int size, int count, ulong seed)
    {
        var rng = new Rng(seed);
        var result = new int[count][];
        for (var i = 0; i < count; i++)
        {
            var set = new HashSet<int>();
            while (set.Count < size)
            {
                set.Add(rng.Next(universe));
            }

            result[i] = [.. set];
        }

        return result;
    }

    /// <summary>Reads a dataset.</summary>
    public static StrategyMatrix Matrix(string path) => CsvDatasetReader.Read(path).Matrix;
}
