using ScottPlot;
using SkiaSharp;

namespace HeavyOptimizer.Core.Output;

/// <summary>The two PNG charts of a run: the best portfolio's equity curve and its drawdown.</summary>
internal static class Charts
{
    private const int Width = 1200;
    private const int Height = 600;

    /// <summary>
    /// The "up" filter and the fastest zlib level: a chart is mostly flat colour, so this encodes about five times
    /// faster than the default (all filters, level 6) for files about a quarter larger; encoding was most of a tiny
    /// job's time (benchmarks/README.md).
    /// </summary>
    private static readonly SKPngEncoderOptions Encoding = new(SKPngEncoderFilterFlags.Up, zLibLevel: 1);

    public static void Equity(string path, IReadOnlyList<DateOnly> dates, ReadOnlySpan<double> series, string title)
    {
        var equity = new double[series.Length];
        var sum = 0.0;
        for (var t = 0; t < series.Length; t++)
        {
            sum += series[t];
            equity[t] = sum;
        }

        Save(path, dates, equity, title, "Cumulative P&L", fill: false);
    }

    public static void Drawdown(string path, IReadOnlyList<DateOnly> dates, ReadOnlySpan<double> series, string title)
    {
        var drawdown = new double[series.Length];
        var equity = 0.0;
        var peak = double.NegativeInfinity;
        for (var t = 0; t < series.Length; t++)
        {
            equity += series[t];
            peak = Math.Max(peak, equity);
            drawdown[t] = equity - peak;
        }

        Save(path, dates, drawdown, title, "Drawdown", fill: true);
    }

    private static void Save(string path, IReadOnlyList<DateOnly> dates, double[] values, string title, string axis, bool fill)
    {
        var xs = dates.Select(d => d.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray();
        var plot = new Plot();
        var line = plot.Add.Scatter(xs, values);
        line.LineWidth = 2;
        line.MarkerSize = 0;
        if (fill)
        {
            line.FillY = true;
            line.FillYValue = 0;
        }

        plot.Axes.DateTimeTicksBottom();
        plot.Title(title);
        plot.YLabel(axis);
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
        plot.Render(surface.Canvas, Width, Height);
        using var image = surface.Snapshot();
        using var pixels = image.PeekPixels();
        using var png = pixels.Encode(Encoding) ?? throw new InvalidOperationException($"{path}: the chart could not be encoded as PNG");
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
