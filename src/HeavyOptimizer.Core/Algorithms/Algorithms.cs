namespace HeavyOptimizer.Core.Algorithms;

/// <summary>The eight algorithms in the order of SPEC section 6, which is also the tie-break order.</summary>
public static class SearchAlgorithms
{
    /// <summary>GA, PSO, SA, DE, ACO, HC, BO, RS.</summary>
    public static IReadOnlyList<SearchAlgorithm> All { get; } =
    [
        new GeneticAlgorithm(),
        new ParticleSwarm(),
        new SimulatedAnnealing(),
        new DifferentialEvolution(),
        new AntColony(),
        new HillClimbing(),
        new BayesianOptimization(),
        new RandomSearch(),
    ];

    /// <summary>Parses a comma-separated list of codes (any case); "all" or empty means all eight.</summary>
    public static IReadOnlyList<SearchAlgorithm> Parse(string? list)
    {
        if (string.IsNullOrWhiteSpace(list) || list.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return All;
        }

        var wanted = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"algorithm '{twice.Key}' is listed twice");
        }

        foreach (var code in wanted)
        {
            if (!All.Any(a => a.Code.Equals(code, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"unknown algorithm '{code}': expected some of {string.Join(",", All.Select(a => a.Code.ToLowerInvariant()))}");
            }
        }

        return All.Where(a => wanted.Contains(a.Code, StringComparer.OrdinalIgnoreCase)).ToArray();
    }
}
