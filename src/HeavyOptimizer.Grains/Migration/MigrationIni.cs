using System.Globalization;
using System.Text;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The operators' <c>production_config.ini</c> shape (SPEC section 9), for import and export: operators keep their
/// habits, the controller's state stays the source of truth. An import is read as one target state: the phase the
/// file names brings that phase's settings (<see cref="PhaseMachine.Enter"/>), every key the file states overrides
/// them, keys it leaves out keep today's values; the result is then checked whole by the controller. Every key lives
/// in its section; an unknown key or section, a key twice, a key in the wrong section, a missing section or a bad value
/// is an error naming the line, and nothing is applied.
/// </summary>
public static class MigrationIni
{
    private const string SystemSection = "SYSTEM";
    private const string MigrationSection = "MIGRATION";

    /// <summary>Keys the legacy processor read that mean nothing in the cluster: accepted, reported, never applied.</summary>
    private static readonly Dictionary<string, (string Section, string Why)> Legacy = new(StringComparer.OrdinalIgnoreCase)
    {
        ["track_migration_metrics"] = (MigrationSection, "the controller always keeps its window of outcomes; it is what the automatic rollback reads"),
        ["deployment_environment"] = (MigrationSection, "there is no blue/green workflow pair to switch: the phase and the primary backend say where jobs run"),
    };

    private static readonly string[] Keys =
    [
        "data_backend", "migration_phase", "gpu_enabled", "enable_dual_write", "primary_backend", "secondary_backend",
        "validation_enabled", "rollback_on_validation_failure", "traffic_percentage_parquet", "enable_strict_validation",
        "log_backend_performance", "disabled_backends",
    ];

    /// <summary>Writes <paramref name="config"/> in the legacy ini shape.</summary>
    public static string Export(MigrationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var ini = new StringBuilder();
        ini.Append(CultureInfo.InvariantCulture, $"[{SystemSection}]\n");
        ini.Append(CultureInfo.InvariantCulture, $"DATA_BACKEND = {PhaseMachine.DataBackend(config)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"migration_phase = {MigrationPhases.Name(config.Phase)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"gpu_enabled = {Bool(config.GpuEnabled)}\n\n");
        ini.Append(CultureInfo.InvariantCulture, $"[{MigrationSection}]\n");
        ini.Append(CultureInfo.InvariantCulture, $"enable_dual_write = {Bool(config.DualWrite)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"primary_backend = {config.PrimaryBackend}\n");
        ini.Append(CultureInfo.InvariantCulture, $"secondary_backend = {config.SecondaryBackend}\n");
        ini.Append(CultureInfo.InvariantCulture, $"validation_enabled = {Bool(config.ValidationEnabled)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"rollback_on_validation_failure = {Bool(config.RollbackOnValidationFailure)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"traffic_percentage_parquet = {config.TrafficPercentParquet}\n");
        ini.Append(CultureInfo.InvariantCulture, $"enable_strict_validation = {Bool(config.StrictValidation)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"log_backend_performance = {Bool(config.LogBackendPerformance)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"disabled_backends = {(config.DisabledBackends.Count == 0 ? "none" : string.Join(",", config.DisabledBackends))}\n");
        return ini.ToString();
    }

    /// <summary>
    /// The settings <paramref name="text"/> asks for, starting from <paramref name="current"/>; <paramref name="notes"/>
    /// says which keys were recognised but have no effect (and, with <paramref name="allowUnknown"/>, which were
    /// unknown and skipped). Throws <see cref="FormatException"/> naming the line of the first problem.
    /// </summary>
    public static MigrationConfig Target(string text, MigrationConfig current, bool allowUnknown, out IReadOnlyList<string> notes)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(current);
        var (values, found) = Read(text, allowUnknown, out notes);
        foreach (var section in new[] { SystemSection, MigrationSection }.Where(s => !found.Contains(s)))
        {
            throw new FormatException($"no [{section}] section: a production_config.ini has [{SystemSection}] and [{MigrationSection}]");
        }

        string Value(string key) => values[key].Value;
        string Where(string key) => $"line {values[key].Line}, {key}";
        var phase = values.ContainsKey("migration_phase") ? Phase(Value("migration_phase"), Where("migration_phase")) : current.Phase;
        var config = phase == current.Phase ? current : PhaseMachine.Enter(current, phase);
        foreach (var key in values.Keys)
        {
            config = key switch
            {
                "gpu_enabled" => config with { GpuEnabled = Bool(Value(key), Where(key)) },
                "enable_dual_write" => config with { DualWrite = Bool(Value(key), Where(key)) },
                "primary_backend" => config with { PrimaryBackend = Backend(Value(key), Where(key)) },
                "secondary_backend" => config with { SecondaryBackend = Backend(Value(key), Where(key)) },
                "validation_enabled" => config with { ValidationEnabled = Bool(Value(key), Where(key)) },
                "rollback_on_validation_failure" => config with { RollbackOnValidationFailure = Bool(Value(key), Where(key)) },
                "traffic_percentage_parquet" => config with { TrafficPercentParquet = Percent(Value(key), Where(key)) },
                "enable_strict_validation" => config with { StrictValidation = Bool(Value(key), Where(key)) },
                "log_backend_performance" => config with { LogBackendPerformance = Bool(Value(key), Where(key)) },
                "disabled_backends" => config with { DisabledBackends = Backends(Value(key), Where(key)) },
                _ => config,
            };
        }

        // DATA_BACKEND is derived (where most results come from); when the file states it, it must agree.
        if (values.ContainsKey("data_backend"))
        {
            var stated = Backend(Value("data_backend"), Where("data_backend"));
            if (stated != PhaseMachine.DataBackend(config))
            {
                throw new FormatException($"{Where("data_backend")}: DATA_BACKEND = {stated} contradicts the rest of the file, which sends jobs to {PhaseMachine.DataBackend(config)} " +
                                          $"({MigrationPhases.Name(config.Phase)}, primary {config.PrimaryBackend}, traffic {config.TrafficPercentParquet} %)");
            }
        }

        return config;
    }

    private static (Dictionary<string, (string Value, int Line)> Values, HashSet<string> Sections) Read(string text, bool allowUnknown, out IReadOnlyList<string> notes)
    {
        var values = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        var sections = new HashSet<string>(StringComparer.Ordinal);
        var said = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? section = null;
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('['))
            {
                section = line.EndsWith(']') ? line[1..^1].Trim().ToUpperInvariant() : throw new FormatException($"line {lineNumber}: '{raw.Trim()}' is not a [SECTION] header");
                if (section is not (SystemSection or MigrationSection))
                {
                    Unknown(allowUnknown, said, $"line {lineNumber}: unknown section [{section}] (the file has [{SystemSection}] and [{MigrationSection}])");
                }
                else if (!sections.Add(section))
                {
                    throw new FormatException($"line {lineNumber}: section [{section}] appears twice");
                }

                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"line {lineNumber}: '{raw.Trim()}' is not KEY = VALUE");
            }

            var key = line[..equals].Trim().ToLowerInvariant();
            var value = line[(equals + 1)..].Trim();
            if (section is not (SystemSection or MigrationSection))
            {
                if (section is null)
                {
                    throw new FormatException($"line {lineNumber}: {key} comes before any section");
                }

                continue;
            }

            var home = Legacy.TryGetValue(key, out var legacy) ? legacy.Section
                : Keys.Contains(key) ? (key is "data_backend" or "migration_phase" or "gpu_enabled" ? SystemSection : MigrationSection)
                : null;
            if (home is null)
            {
                Unknown(allowUnknown, said, $"line {lineNumber}: unknown key {key} in [{section}]");
                continue;
            }

            if (home != section)
            {
                throw new FormatException($"line {lineNumber}: {key} belongs in [{home}], not [{section}]");
            }

            if (!seen.Add(key))
            {
                throw new FormatException($"line {lineNumber}: {key} is set twice");
            }

            if (legacy.Why is not null)
            {
                _ = key == "deployment_environment"
                    ? value is "blue" or "green" ? value : throw new FormatException($"line {lineNumber}, {key}: '{value}' is not blue or green")
                    : Bool(value, $"line {lineNumber}, {key}").ToString();
                said.Add($"line {lineNumber}: {key} is a legacy setting with no effect in the cluster ({legacy.Why})");
                continue;
            }

            values[key] = (value, lineNumber);
        }

        notes = said;
        return (values, sections);
    }

    private static void Unknown(bool allowUnknown, List<string> notes, string what)
    {
        if (!allowUnknown)
        {
            throw new FormatException($"{what}; nothing was applied (--allow-unknown skips unknown keys and sections)");
        }

        notes.Add($"{what}: skipped");
    }

    private static string StripComment(string line)
    {
        var hash = line.IndexOfAny(['#', ';']);
        return hash >= 0 ? line[..hash] : line;
    }

    /// <summary>A list of backends ("none", or heavydb and/or parquet, comma-separated).</summary>
    private static string[] Backends(string value, string where) => value.Trim() is "none" or ""
        ? []
        : value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(b => Backend(b, where)).Distinct().Order(StringComparer.Ordinal).ToArray();

    private static string Bool(bool value) => value ? "true" : "false";

    private static bool Bool(string value, string where) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new FormatException($"{where}: '{value}' is not true or false"),
    };

    private static string Backend(string value, string where) =>
        value.ToLowerInvariant() is MigrationPolicy.HeavyDb or MigrationPolicy.Parquet ? value.ToLowerInvariant() : throw new FormatException($"{where}: '{value}' is not heavydb or parquet");

    private static int Percent(string value, string where) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100
            ? p
            : throw new FormatException($"{where}: '{value}' is not a percentage 0..100");

    private static MigrationPhase Phase(string value, string where)
    {
        try
        {
            return MigrationPhases.Parse(value);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{where}: {e.Message}", e);
        }
    }
}
