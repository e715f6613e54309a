namespace HeavyOptimizer.Abstractions;

/// <summary>A migration change the controller's guards refused; the message says which guard and how to override it.</summary>
[GenerateSerializer]
[Alias("hopt.MigrationGuardException")]
public sealed class MigrationGuardException : Exception
{
    /// <summary>Creates the refusal.</summary>
    public MigrationGuardException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the refusal with its cause.</summary>
    public MigrationGuardException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>For serializers.</summary>
    public MigrationGuardException()
    {
    }
}
