using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.Fitness;

/// <summary>Properties checked over many random portfolios of a random matrix.</summary>
public class FitnessPropertyTests
{
    private static readonly FitnessModel Model = new(Some.RandomMatrix(300, 82, 11), FitnessOptions.Default);

    private static int[] RandomPortfolio(Rng rng, int size)
    {
        var set = new HashSet<int>();
        while (set.Count < size)
        {
            set.Add(rng.Next(Model.Count));
        }

        return [.. set];
    }

    [Fact]
    public void Fitness_does_not_depend_on_the_order_of_the_members()
    {
        var scorer = new PortfolioScorer(Model);
        var rng = new Rng(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var members = RandomPortfolio(rng, 2 + rng.Next(60));
            var canonical = scorer.Evaluate(members.Order().ToArray());
            var shuffled = members.OrderBy(_ => rng.NextUInt64()).ToArray();

            Assert.Equal(canonical, scorer.Evaluate(shuffled), Math.Abs(canonical) * 1e-12 + 1e-12);
            Assert.Equal(canonical, scorer.Evaluate(shuffled.Order().ToArray()));
        }
    }

    [Fact]
    public void Correlation_identity_matches_explicit_pearson_over_all_pairs()
    {
        var options = new FitnessOptions { Metric = FitnessMetric.Roi, PenaltyWeight = 1 };
        var model = new FitnessModel(Model.Matrix, options);
        var scorer = new PortfolioScorer(model);
        var rng = new Rng(6);
        for (var trial = 0; trial < 50; trial++)
        {
            var members = RandomPortfolio(rng, 2 + rng.Next(40));
            var explicitMean = 0.0;
            var pairs = 0;
            for (var i = 0; i < members.Length; i++)
            {
                for (var j = i + 1; j < members.Length; j++)
                {
                    explicitMean += Pearson(model.Matrix.Column(members[i]), model.Matrix.Column(members[j]));
                    pairs++;
                }
            }

            explicitMean /= pairs;
            Assert.Equal(explicitMean, scorer.Explain(members).MeanCorrelation, 1e-9);
        }
    }

    [Fact]
    public void A_swap_scores_what_a_full_evaluation_of_the_new_set_scores()
    {
        var scorer = new PortfolioScorer(Model);
        var rng = new Rng(7);
        var state = new SwapState(Model, 35);
        state.Reset(RandomPortfolio(rng, 35));
        for (var step = 0; step < 10_000; step++)
        {
            var slot = rng.Next(35);
            int incoming;
            do
            {
                incoming = rng.Next(Model.Count);
            }
            while (state.Contains(incoming));

            var swapped = state.TrySwap(slot, incoming);
            var members = state.Members.ToArray();
            members[slot] = incoming;
            var full = scorer.Evaluate(members);
            Assert.Equal(full, swapped, Math.Abs(full) * 1e-9 + 1e-9);
            if (rng.NextDouble() < 0.5)
            {
                state.Commit(slot, incoming, swapped);
            }
        }

        Assert.Equal(scorer.Evaluate(state.Members), state.Fitness, Math.Abs(state.Fitness) * 1e-9 + 1e-9);
    }

    private static double Pearson(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double ma = 0, mb = 0;
        for (var t = 0; t < a.Length; t++)
        {
            ma += a[t];
            mb += b[t];
        }

        ma /= a.Length;
        mb /= b.Length;
        double sab = 0, saa = 0, sbb = 0;
        for (var t = 0; t < a.Length; t++)
        {
            sab += (a[t] - ma) * (b[t] - mb);
            saa += (a[t] - ma) * (a[t] - ma);
            sbb += (b[t] - mb) * (b[t] - mb);
        }

        return saa == 0 || sbb == 0 ? 0 : sab / Math.Sqrt(saa * sbb);
    }
}
