using HeavyOptimizer.Backends.Parquet;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Backends.Tests;

public class ParquetKernelTests
{
    [Fact]
    public void Vectorised_cpu_path_equals_the_engine_bit_for_bit()
    {
        // 67 strategies: whole SIMD blocks plus a remainder handled by the scalar path.
        var matrix = Some.RandomMatrix(67, 41, 12);
        Assert.Equal(Optimizer.StrategyMetrics(matrix), StrategyMetricsKernels.Cpu(matrix));
    }

    [SkippableFact]
    public void Vectorised_cpu_path_equals_the_engine_on_sensex()
    {
        var matrix = CsvDatasetReader.Read(SharedData.File("sensex_2500.csv")).Matrix;
        Assert.Equal(Optimizer.StrategyMetrics(matrix), StrategyMetricsKernels.Cpu(matrix));
    }

    [Fact]
    public void Ilgpu_kernel_on_the_cpu_accelerator_equals_the_engine()
    {
        var matrix = Some.Matrix([1, 2, 3, 4], [5, 5, 5, 5], [-1, -2, -3, -4], [0, 0, 0, 0], [-5, 10, -3, 1], [10, -6, 3, 0]);
        var random = Some.RandomMatrix(24, 30, 13);
        var (context, accelerator) = StrategyMetricsKernels.OpenAccelerator(forceCpu: true);
        using (context)
        using (accelerator)
        {
            Assert.Equal(Optimizer.StrategyMetrics(matrix), StrategyMetricsKernels.Ilgpu(accelerator, matrix));
            Assert.Equal(Optimizer.StrategyMetrics(random), StrategyMetricsKernels.Ilgpu(accelerator, random));
        }
    }
}
