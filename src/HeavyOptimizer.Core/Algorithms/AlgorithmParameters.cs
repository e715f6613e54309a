using System.Globalization;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>One algorithm's numeric parameters: its defaults (SPEC section 6) with a job's overrides applied.</summary>
public sealed class AlgorithmParameters
{
    private readonly Dictionary<string, double> _values;

    /// <summary>Applies <paramref name="overrides"/> to <paramref name="defaults"/>; an unknown name is an error.</summary>
    public AlgorithmParameters(string algorithm, IReadOnlyDictionary<string, double> defaults, IReadOnlyDictionary<string, double>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        _values = new Dictionary<string, double>(defaults, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in overrides ?? new Dictionary<string, double>())
        {
            if (!_values.ContainsKey(name))
            {
                throw new ArgumentException(
                    $"{algorithm} has no parameter '{name}' (it has {string.Join(", ", defaults.Keys)})");
            }

            if (!double.IsFinite(value) || value < 0)
            {
                throw new ArgumentException($"{algorithm}.{name} = {value}: parameters are finite and not negative");
            }

            _values[name] = value;
        }
    }

    /// <summary>The value of <paramref name="name"/>.</summary>
    public double this[string name] => _values[name];

    /// <summary>The value of <paramref name="name"/> as a count, at least <paramref name="minimum"/>.</summary>
    public int Count(string name, int minimum = 1) => Math.Max(minimum, (int)Math.Round(_values[name]));

    /// <summary>Every parameter, for reports.</summary>
    public IReadOnlyDictionary<string, double> All => _values;

    /// <inheritdoc />
    public override string ToString() =>
        string.Join(", ", _values.Select(kv => $"{kv.Key}={kv.Value.ToString(CultureInfo.InvariantCulture)}"));
}
