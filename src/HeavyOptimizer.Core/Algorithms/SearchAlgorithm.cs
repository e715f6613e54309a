namespace HeavyOptimizer.Core.Algorithms;

/// <summary>A metaheuristic over N-subsets of strategies (SPEC section 6).</summary>
public abstract class SearchAlgorithm
{
    /// <summary>Short code used on the command line and in reports (GA, PSO, ...).</summary>
    public abstract string Code { get; }

    /// <summary>Full name.</summary>
    public abstract string Name { get; }

    /// <summary>The operators' default parameters.</summary>
    public abstract IReadOnlyDictionary<string, double> Defaults { get; }

    /// <summary>Evaluations the algorithm spends with <paramref name="parameters"/> when no time limit is given.</summary>
    public abstract long Budget(AlgorithmParameters parameters);

    /// <summary>Searches until <see cref="SearchContext.ShouldStop"/>; the best portfolio is tracked by the context.</summary>
    public abstract void Run(SearchContext context);
}
