using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.Algorithms;

public class AlgorithmTests
{
    public static TheoryData<string> Codes => [.. SearchAlgorithms.All.Select(a => a.Code)];

    private static readonly Dataset Random = Some.Dataset(Some.RandomMatrix(120, 40, 1));

    private static readonly Dataset Planted = Some.Dataset(Some.Planted(400, 30, 60, 9));

    private static AlgorithmRun RunOne(Dataset data, string code, ulong seed, int size = 10, long? evaluations = null, int threads = 1) =>
        Optimizer.Run(data, new OptimizationRequest
        {
            MinSize = size,
            MaxSize = size,
            Algorithms = SearchAlgorithms.Parse(code),
            Seed = seed,
            MaxEvaluations = evaluations,
            Parallelism = threads,
        }).Best;

    [Fact]
    public void The_polish_keeps_the_best_so_more_budget_is_never_worse_and_it_never_loses_the_winner()
    {
        OptimizationResult Polished(long evaluations) => Optimizer.Run(Random, new OptimizationRequest
        {
            MinSize = 10, MaxSize = 10, Algorithms = SearchAlgorithms.Parse("rs"), Seed = 9, MaxEvaluations = 200, PolishEvaluations = evaluations,
        });

        var small = Polished(2_000);
        var large = Polished(200_000);
        Assert.Equal(small.Polish!.FitnessBefore, large.Polish!.FitnessBefore);
        Assert.True(small.Polish.Fitness >= small.Polish.FitnessBefore);
        Assert.True(large.Polish.Fitness >= small.Polish.Fitness, $"{large.Polish.Fitness} < {small.Polish.Fitness}");
        Assert.True(large.Polish.Fitness > large.Polish.FitnessBefore, "the local search improved nothing on random data");
        Assert.Equal(large.Polish.Fitness, large.Best.Fitness);
        Assert.Equal(10, large.Best.Members.Distinct().Count());
        Assert.Equal(large.Best.Fitness, new PortfolioScorer(new FitnessModel(Random.Matrix, FitnessOptions.Default)).Evaluate(large.Best.Members));
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Returns_a_valid_subset_of_the_requested_size(string code)
    {
        var run = RunOne(Random, code, 3);

        Assert.Equal(10, run.Members.Length);
        Assert.Equal(10, run.Members.Distinct().Count());
        Assert.All(run.Members, m => Assert.InRange(m, 0, Random.Matrix.Count - 1));
        Assert.True(double.IsFinite(run.Fitness));
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Is_reproducible_for_a_seed_and_differs_across_seeds(string code)
    {
        var first = RunOne(Random, code, 21, evaluations: 3000);
        var again = RunOne(Random, code, 21, evaluations: 3000);
        Assert.Equal(first.Members, again.Members);
        Assert.Equal(first.Fitness, again.Fitness);
        Assert.Equal(first.Evaluations, again.Evaluations);

        // Long runs may all reach the same optimum; a few evaluations in, different seeds are on different paths.
        var early = Enumerable.Range(0, 5).Select(seed => RunOne(Random, code, (ulong)seed, evaluations: 30).Fitness).Distinct();
        Assert.True(early.Count() > 1, $"{code} found the same portfolio after 30 evaluations for five seeds");
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Spends_exactly_its_evaluation_budget(string code)
    {
        Assert.Equal(777, RunOne(Random, code, 4, evaluations: 777).Evaluations);
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Default_budget_comes_from_the_operators_parameters(string code)
    {
        var algorithm = SearchAlgorithms.Parse(code)[0];
        var expected = algorithm.Budget(new AlgorithmParameters(code, algorithm.Defaults));
        Assert.Equal(expected, RunOne(Random, code, 4).Evaluations);
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public void Beats_random_sampling_at_equal_evaluations_on_a_planted_problem(string code)
    {
        if (code == "RS")
        {
            return;
        }

        const int Evaluations = 4000;
        double algorithm = 0, random = 0;
        for (ulong seed = 1; seed <= 3; seed++)
        {
            algorithm += RunOne(Planted, code, seed, size: 15, evaluations: Evaluations).Fitness;
            random += RunOne(Planted, "RS", seed, size: 15, evaluations: Evaluations).Fitness;
        }

        Assert.True(algorithm > random, $"{code} averaged {algorithm / 3:F3}, random sampling {random / 3:F3}");
    }

    [Fact]
    public void Parallel_runs_give_the_same_result_as_one_thread()
    {
        var request = new OptimizationRequest { MinSize = 8, MaxSize = 12, Seed = 5, MaxEvaluations = 1500 };
        var one = Optimizer.Run(Random, request with { Parallelism = 1 });
        var two = Optimizer.Run(Random, request with { Parallelism = 2 });

        Assert.Equal(one.Runs.Select(r => (r.Algorithm, r.Size, r.Fitness)), two.Runs.Select(r => (r.Algorithm, r.Size, r.Fitness)));
        Assert.Equal(one.Best.Members, two.Best.Members);
    }

    [Fact]
    public void Size_range_optimises_every_size_and_reports_the_best_overall()
    {
        var result = Optimizer.Run(Random, new OptimizationRequest { MinSize = 5, MaxSize = 7, Algorithms = SearchAlgorithms.Parse("sa,rs") });

        Assert.Equal([5, 5, 6, 6, 7, 7], result.Runs.Select(r => r.Size));
        Assert.Equal(result.Runs.Max(r => r.Fitness), result.Best.Fitness);
        Assert.Equal(result.Best.Size, result.Best.Members.Length);
    }

    [Fact]
    public void Ties_go_to_the_earlier_algorithm_in_the_table()
    {
        AlgorithmRun Run(string code, double fitness) => new(code, 10, fitness, [1], 1, 0, null);
        var winner = Optimizer.Winner([Run("GA", 5), Run("PSO", 7), Run("SA", 7), Run("DE", double.NaN) with { Error = "boom" }]);
        Assert.Equal("PSO", winner!.Algorithm);
    }

    [Fact]
    public void Failed_runs_are_reported_and_the_others_still_win()
    {
        var request = new OptimizationRequest
        {
            MinSize = 10,
            MaxSize = 10,
            Algorithms = SearchAlgorithms.Parse("sa,rs"),
            Parameters = new Dictionary<string, IReadOnlyDictionary<string, double>> { ["SA"] = new Dictionary<string, double> { ["cooling_rate"] = 1.5 } },
        };
        var result = Optimizer.Run(Random, request);

        Assert.Equal("RS", result.Best.Algorithm);
        Assert.Contains(result.Warnings, w => w.Contains("SA", StringComparison.Ordinal) && w.Contains("cooling_rate", StringComparison.Ordinal));
    }

    [Fact]
    public void Time_limit_replaces_the_evaluation_budget()
    {
        var result = Optimizer.Run(Random, new OptimizationRequest
        {
            MinSize = 10,
            MaxSize = 10,
            Algorithms = SearchAlgorithms.Parse("sa"),
            TimeLimit = TimeSpan.FromMilliseconds(300),
        });

        // The SA default budget is 1,000 evaluations; given time, it keeps searching until the time is spent.
        Assert.True(result.Best.Evaluations > 1000, $"{result.Best.Evaluations} evaluations");
        Assert.True(result.Best.Seconds >= 0.25, $"{result.Best.Seconds} s");
    }

    [Fact]
    public void Cancellation_stops_the_search()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => Optimizer.Run(Random, new OptimizationRequest
        {
            MinSize = 10,
            MaxSize = 10,
            TimeLimit = TimeSpan.FromMinutes(10),
        }, cancellation: cancelled.Token));
    }

    [Fact]
    public void Cancellation_during_the_polish_throws_instead_of_returning_the_cut_short_result()
    {
        using var cancellation = new CancellationTokenSource();
        var request = new OptimizationRequest { MinSize = 10, MaxSize = 10, TimeLimit = TimeSpan.FromSeconds(2), PolishTimeShare = 0.5 };
        var polishing = false;

        Assert.Throws<OperationCanceledException>(() => Optimizer.Run(Random, request, p =>
        {
            if (p.Algorithm == "LS")
            {
                polishing = true;
                cancellation.Cancel();
            }
        }, cancellation.Token));
        Assert.True(polishing, "the polish never reported: the cancellation did not land in it");
    }

    [Fact]
    public void Progress_is_reported_for_every_algorithm()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<SearchProgress>();
        Optimizer.Run(Random, new OptimizationRequest { MinSize = 10, MaxSize = 10 }, seen.Add);

        Assert.Equal(SearchAlgorithms.All.Select(a => a.Code).Order(), seen.Where(p => p.Fraction >= 1).Select(p => p.Algorithm).Order());
    }

    [Fact]
    public void Unknown_algorithm_or_parameter_is_rejected_with_its_name()
    {
        Assert.Contains("xx", Assert.Throws<ArgumentException>(() => SearchAlgorithms.Parse("ga,xx")).Message, StringComparison.Ordinal);
        var request = new OptimizationRequest
        {
            Parameters = new Dictionary<string, IReadOnlyDictionary<string, double>> { ["GA"] = new Dictionary<string, double> { ["popsize"] = 5 } },
        };
        var error = Assert.Throws<ArgumentException>(() => request.ParametersOf(SearchAlgorithms.All[0]));
        Assert.Contains("popsize", error.Message, StringComparison.Ordinal);
    }
}
