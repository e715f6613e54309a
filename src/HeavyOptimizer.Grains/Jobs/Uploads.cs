using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>What an upload grain persists.</summary>
[GenerateSerializer]
[Alias("hopt.UploadState")]
public sealed class UploadState
{
    /// <summary>The uploaded bytes, null before the upload.</summary>
    [Id(0)] public byte[]? Content { get; set; }
}

/// <summary>One uploaded input, in the cluster's state store under the SHA-256 of its bytes.</summary>
public sealed class UploadGrain([PersistentState("upload", "hopt")] IPersistentState<UploadState> state) : Grain, IUploadGrain
{
    /// <inheritdoc />
    public async Task Store(byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.Length > IUploadGrain.MaxBytes)
        {
            throw new ArgumentException($"upload of {content.Length:N0} bytes: the cluster takes up to {IUploadGrain.MaxBytes:N0}; put larger inputs on the shared data root");
        }

        var key = this.GetPrimaryKeyString();
        var received = IUploadGrain.KeyOf(content);
        if (received != key)
        {
            throw new ArgumentException($"upload {key}: the bytes received hash to {received} (damaged in transit?)");
        }

        if (state.State.Content is null)
        {
            state.State.Content = content;
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<byte[]?> Read() => Task.FromResult(state.State.Content);

    /// <inheritdoc />
    public Task<bool> Exists() => Task.FromResult(state.State.Content is not null);
}

/// <summary>Turns an <c>upload:&lt;sha256&gt;</c> input into a file on the silo running the job.</summary>
public static class Uploads
{
    /// <summary>
    /// The upload key an input names (<c>upload:&lt;sha256&gt;</c>), or null when it is a path; an
    /// <see cref="InvalidJobException"/> when it names an upload by something that is not a SHA-256.
    /// </summary>
    public static string? KeyOf(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.StartsWith(IUploadGrain.Scheme, StringComparison.Ordinal))
        {
            return null;
        }

        var key = input[IUploadGrain.Scheme.Length..];
        return key.Length == 64 && key.All(char.IsAsciiHexDigitLower)
            ? key
            : throw new InvalidJobException("input", $"input '{input}': an upload is named upload:<64 lower-case hex digits of its SHA-256>");
    }

    /// <summary>
    /// <paramref name="spec"/> itself when its input is a path; otherwise the spec with its input written (once, complete,
    /// then renamed into place) to <c>&lt;dataDirectory&gt;/uploads/&lt;sha256&gt;.csv</c>.
    /// </summary>
    public static async Task<JobSpec> MaterializeAsync(JobSpec spec, IGrainFactory grains, string dataDirectory, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(grains);
        if (KeyOf(spec.InputPath) is not { } key)
        {
            return spec;
        }

        var path = Path.Combine(dataDirectory, "uploads", $"{key}.csv");
        if (!File.Exists(path))
        {
            var content = await ClusterCalls.RetryAsync(grains.GetGrain<IUploadGrain>(key).Read, ClusterCalls.DefaultWindow, cancellation)
                          ?? throw new InvalidJobException("input", $"input {spec.InputPath}: no such upload in the cluster");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var partial = $"{path}.{Guid.NewGuid():N}.partial";
            await File.WriteAllBytesAsync(partial, content, cancellation);
            File.Move(partial, path, overwrite: true);
        }

        return spec with { InputPath = path };
    }
}
