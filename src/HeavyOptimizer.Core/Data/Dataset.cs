namespace HeavyOptimizer.Core.Data;

/// <summary>A parsed input file: the matrix, its content fingerprint and what was noticed while reading it.</summary>
/// <param name="Source">Path of the file as given.</param>
/// <param name="Matrix">The strategy matrix.</param>
/// <param name="Fingerprint">Lower-case hex SHA-256 of the file's bytes.</param>
/// <param name="EmptyCells">Number of empty cells read as 0 (legacy behaviour, reported as a warning).</param>
/// <param name="Warnings">Human-readable warnings, one per line of the run's error log.</param>
public sealed record Dataset(string Source, StrategyMatrix Matrix, string Fingerprint, long EmptyCells, IReadOnlyList<string> Warnings);
