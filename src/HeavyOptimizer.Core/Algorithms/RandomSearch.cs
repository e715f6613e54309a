using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>RS: uniform random portfolios; the baseline every other algorithm must beat.</summary>
public sealed class RandomSearch() : SearchAlgorithm(
    "RS",
    "Random Search",
    new Dictionary<string, double> { ["samples"] = 1000 })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) => parameters.Count("samples");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var members = new int[context.Size];
        while (!context.ShouldStop)
        {
            context.RandomPortfolio(members);
            context.Evaluate(members);
        }
    }
}
