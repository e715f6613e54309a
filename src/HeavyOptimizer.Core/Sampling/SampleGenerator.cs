using System.Globalization;
using System.Text;
using HeavyOptimizer.Core.Algorithms;

namespace HeavyOptimizer.Core.Sampling;

/// <summary>
/// Writes a synthetic strategy file with the statistics of the real ones (shared/data): weekly expiry dates,
/// strategies sharing a market factor and correlated groups (same underlying window), fat-tailed and skewed P&amp;L scaled like rupee
/// figures, a small share of zero cells and an occasional all-zero row (a holiday). Same seed, same bytes.
/// </summary>
public static class SampleGenerator
{
    /// <summary>Writes <paramref name="strategies"/> x <paramref name="rows"/> to <paramref name="path"/> (via a temporary file).</summary>
    public static void Write(string path, int strategies, int rows, ulong seed)
    {
        if (strategies < 1 || rows < 2)
        {
            throw new ArgumentException($"a sample needs at least 1 strategy and 2 rows, got {strategies} x {rows}");
        }

        var rng = new Rng(seed);
        var groups = Math.Max(1, strategies / 40);
        var market = new double[rows];
        for (var t = 0; t < rows; t++)
        {
            market[t] = Skewed(rng);
        }

        var factors = new double[groups * rows];
        for (var i = 0; i < factors.Length; i++)
        {
            factors[i] = Skewed(rng);
        }

        var zeroRows = new bool[rows];
        for (var t = 0; t < rows; t++)
        {
            zeroRows[t] = rng.NextDouble() < 0.02;
        }

        var group = new int[strategies];
        var loading = new double[strategies];
        var beta = new double[strategies];
        var scale = new double[strategies];
        var drift = new double[strategies];
        for (var s = 0; s < strategies; s++)
        {
            group[s] = rng.Next(groups);
            beta[s] = 0.38 + 0.2 * Normal(rng);
            loading[s] = 0.3 + 0.4 * rng.NextDouble();
            scale[s] = 1450 * Math.Exp(0.45 * Normal(rng));
            drift[s] = -0.013 + 0.03 * Normal(rng);
        }

        var temp = path + ".tmp";
        using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false), 1 << 20))
        {
            writer.Write("Date,Day");
            for (var s = 0; s < strategies; s++)
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture, $",SAMPLE {group[s]:D4}-{s:D6} SL{rng.Next(90) + 5}%"));
            }

            writer.Write('\n');
            var date = new DateOnly(2024, 1, 4);
            Span<char> number = stackalloc char[32];
            for (var t = 0; t < rows; t++, date = date.AddDays(7))
            {
                writer.Write(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(date.DayOfWeek.ToString());
                for (var s = 0; s < strategies; s++)
                {
                    var idiosyncratic = Skewed(rng);
                    var common = beta[s] * market[t] + loading[s] * factors[group[s] * rows + t];
                    var rest = Math.Sqrt(Math.Max(0.05, 1 - beta[s] * beta[s] - loading[s] * loading[s]));
                    var value = zeroRows[t] || rng.NextDouble() < 0.001 ? 0 : scale[s] * (drift[s] + common + rest * idiosyncratic);
                    value.TryFormat(number, out var written, "R", CultureInfo.InvariantCulture);
                    writer.Write(',');
                    writer.Write(number[..written]);
                }

                writer.Write('\n');
            }
        }

        File.Move(temp, path, overwrite: true);
    }

    private static double Normal(Rng rng)
    {
        var u1 = 1 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Student-t with 4 degrees of freedom, scaled to unit variance.</summary>
    private static double StudentT(Rng rng)
    {
        var chi = 0.0;
        for (var k = 0; k < 4; k++)
        {
            var n = Normal(rng);
            chi += n * n;
        }

        return Normal(rng) / Math.Sqrt(chi / 4) / Math.Sqrt(2);
    }

    /// <summary>Option-selling shape: frequent modest gains, rarer larger losses, fat tails; mean about 0, about unit scale.</summary>
    private static double Skewed(Rng rng) =>
        rng.NextDouble() < 0.7 ? 0.45 * Math.Abs(StudentT(rng)) + 0.15 : -1.4 * Math.Abs(StudentT(rng)) - 0.2;
}
