using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Grains.Hosting;

/// <summary>Validates options by their own list of one-line problems (empty when every setting can work).</summary>
public sealed class ProblemsValidation<T>(string section, Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options) =>
        problems(options).Select(p => $"{section}: {p}").ToList() is { Count: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
}
