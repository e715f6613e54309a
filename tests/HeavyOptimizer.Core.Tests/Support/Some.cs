using System.Globalization;
using System.Text;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;

namespace HeavyOptimizer.Core.Tests.Support;

/// <summary>Small factories for test data.</summary>
public static class Some
{
    /// <summary>A matrix whose strategy i is columns[i]; dates are consecutive days from 2024-01-01.</summary>
    public static StrategyMatrix Matrix(params double[][] columns)
    {
        var rows = columns[0].Length;
        var names = Enumerable.Range(0, columns.Length).Select(i => $"S{i}").ToArray();
        var dates = Enumerable.Range(0, rows).Select(d => new DateOnly(2024, 1, 1).AddDays(d)).ToArray();
        return new StrategyMatrix(names, dates, columns.SelectMany(c => c).ToArray());
    }

    /// <summary>A dataset around <see cref="Matrix"/>.</summary>
    public static Dataset Dataset(StrategyMatrix matrix, string source = "test.csv") => new(source, matrix, "0", 0, []);

    /// <summary>A random matrix with fat-ish tails; reproducible for a seed.</summary>
    public static StrategyMatrix RandomMatrix(int strategies, int rows, ulong seed)
    {
        var rng = new Rng(seed);
        var columns = new double[strategies][];
        for (var s = 0; s < strategies; s++)
        {
            columns[s] = new double[rows];
            for (var t = 0; t < rows; t++)
            {
                var u = rng.NextDouble() - 0.48;
                columns[s][t] = Math.Round(1000 * u * u * u * 8 + 100 * (rng.NextDouble() - 0.5), 4);
            }
        }

        return Matrix(columns);
    }

    /// <summary>
    /// A planted problem: <paramref name="good"/> strategies with steady independent gains hidden among strategies
    /// that lose on average and share one noisy factor. The best portfolio is made of good strategies.
    /// </summary>
    public static StrategyMatrix Planted(int strategies, int good, int rows, ulong seed)
    {
        var rng = new Rng(seed);
        var factor = Enumerable.Range(0, rows).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var columns = new double[strategies][];
        var goodSet = new HashSet<int>();
        while (goodSet.Count < good)
        {
            goodSet.Add(rng.Next(strategies));
        }

        for (var s = 0; s < strategies; s++)
        {
            columns[s] = new double[rows];
            for (var t = 0; t < rows; t++)
            {
                var noise = rng.NextDouble() - 0.5;
                columns[s][t] = goodSet.Contains(s)
                    ? 30 + 100 * noise
                    : -5 + 100 * factor[t] + 60 * noise;
            }
        }

        return Matrix(columns);
    }

    /// <summary>CSV text with a Date column and the given strategy columns (values written in invariant culture).</summary>
    public static string Csv(StrategyMatrix matrix)
    {
        var csv = new StringBuilder("Date");
        foreach (var name in matrix.Names)
        {
            csv.Append(',').Append(name);
        }

        csv.Append('\n');
        for (var t = 0; t < matrix.Rows; t++)
        {
            csv.Append(matrix.Dates[t].ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            for (var s = 0; s < matrix.Count; s++)
            {
                csv.Append(',').Append(matrix.Column(s)[t].ToString("R", CultureInfo.InvariantCulture));
            }

            csv.Append('\n');
        }

        return csv.ToString();
    }
}

/// <summary>A temporary directory removed at dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hopt-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>Writes <paramref name="content"/> to a file in the directory and returns its path.</summary>
    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Finds ../shared beside the repository root.</summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    });

    /// <summary>Path of a file in shared/data; skips the calling test, saying why, when it is absent.</summary>
    public static string File(string name)
    {
        var root = Root.Value;
        Skip.If(root is null, $"../shared/data not found above {AppContext.BaseDirectory}: the real-data test cannot run here");
        var path = System.IO.Path.Combine(root!, name);
        Skip.IfNot(System.IO.File.Exists(path), $"{path} is absent: the real-data test cannot run here");
        return path;
    }
}
