namespace HeavyOptimizer.Core.Data;

/// <summary>
/// The strategy P&amp;L of one dataset: <see cref="Rows"/> observations of <see cref="Count"/> strategies,
/// stored column-major so that one strategy's series is one contiguous span.
/// </summary>
public sealed class StrategyMatrix
{
    private readonly double[] _values;

    /// <summary>Creates a matrix over column-major <paramref name="values"/> (strategy j at [j*rows, (j+1)*rows)).</summary>
    public StrategyMatrix(IReadOnlyList<string> names, IReadOnlyList<DateOnly> dates, double[] values)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(dates);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != names.Count * dates.Count)
        {
            throw new ArgumentException($"expected {names.Count} x {dates.Count} values, got {values.Length}", nameof(values));
        }

        Names = names;
        Dates = dates;
        _values = values;
    }

    /// <summary>Strategy names in input order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>One date per row.</summary>
    public IReadOnlyList<DateOnly> Dates { get; }

    /// <summary>Number of strategies (columns).</summary>
    public int Count => Names.Count;

    /// <summary>Number of observations (rows).</summary>
    public int Rows => Dates.Count;

    /// <summary>The series of strategy <paramref name="strategy"/>.</summary>
    public ReadOnlySpan<double> Column(int strategy) => _values.AsSpan(strategy * Rows, Rows);

    /// <summary>All values, column-major.</summary>
    public ReadOnlySpan<double> Values => _values;


    /// <summary>A new matrix with the named strategies replaced; used by the ULTA inversion.</summary>
    public StrategyMatrix WithColumns(IReadOnlyList<string> names, double[] values) => new(names, Dates, values);
}
