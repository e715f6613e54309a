namespace HeavyOptimizer.Core.Algorithms;

/// <summary>A metaheuristic over N-subsets of strategies (SPEC section 6).</summary>
/// <param name="code">Short code used on the command line and in reports (GA, PSO, ...).</param>
/// <param name="name">Full name.</param>
/// <param name="defaults">The operators' default parameters.</param>
public abstract class SearchAlgorithm(string code, string name, IReadOnlyDictionary<string, double> defaults)
{
    /// <summary>Short code used on the command line and in reports (GA, PSO, ...).</summary>
    public string Code { get; } = code;

    /// <summary>Full name.</summary>
    public string Name { get; } = name;

    /// <summary>The operators' default parameters.</summary>
    public IReadOnlyDictionary<string, double> Defaults { get; } = defaults;

    /// <summary>Evaluations the algorithm spends with <paramref name="parameters"/> when no time limit is given.</summary>
    public abstract long Budget(AlgorithmParameters parameters);

    /// <summary>Searches until <see cref="SearchContext.ShouldStop"/>; the best portfolio is tracked by the context.</summary>
    public abstract void Run(SearchContext context);
}
