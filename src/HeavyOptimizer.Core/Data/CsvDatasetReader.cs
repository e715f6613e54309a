using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HeavyOptimizer.Core.Data;

/// <summary>
/// Reads a strategy CSV (SPEC section 1) in one streaming pass over its bytes: no allocation per cell,
/// values land row-major in one growing buffer and are transposed to column-major at the end, and the
/// content fingerprint is hashed on the way.
/// </summary>
public static class CsvDatasetReader
{
    /// <summary>
    /// Metadata columns, recognised by name (case-insensitive); every other column is a strategy. The SPEC's list,
    /// plus <c>portfolio_drawdown</c>: a derived column the production-width files carry (shared/data/wide_*.csv
    /// hold 25,544 strategies and this column), which is not a strategy's P&amp;L.
    /// </summary>
    public static readonly IReadOnlySet<string> MetadataColumns = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "Day", "Zone", "start_time", "end_time", "market_regime", "Regime_Confidence_%",
        "Market_regime_transition_threshold", "capital", "portfolio_drawdown",
    };

    private const int ChunkSize = 1 << 20;

    /// <summary>Reads <paramref name="path"/>; throws <see cref="DatasetException"/> naming file, row and column on bad input.</summary>
    public static Dataset Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot open the file ({e.Message})");
        }

        using (stream)
        {
            return Read(stream, path);
        }
    }

    /// <summary>Reads a dataset from <paramref name="stream"/>; <paramref name="name"/> is used in messages.</summary>
    public static Dataset Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var parser = new Parser(name);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize * 2);
        try
        {
            var carried = 0;
            int read;
            while ((read = stream.Read(buffer, carried, buffer.Length - carried)) > 0)
            {
                hash.AppendData(buffer, carried, read);
                var filled = carried + read;
                var consumed = parser.ConsumeLines(buffer.AsSpan(0, filled), final: false);
                carried = filled - consumed;
                if (carried == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, carried).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                else
                {
                    buffer.AsSpan(consumed, carried).CopyTo(buffer);
                }
            }

            parser.ConsumeLines(buffer.AsSpan(0, carried), final: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return parser.Finish(Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private sealed class Parser(string file)
    {
        private string[] _header = [];
        private int[] _strategyIndex = []; // header column -> strategy index, -1 for metadata
        private int _dateColumn = -1;
        private int _strategies;
        private long _line;
        private int _rows;
        private double[] _rowMajor = [];
        private readonly List<(string Text, long Line)> _rawDates = [];
        private long _emptyCells;
        private readonly List<string> _warnings = [];

        public int ConsumeLines(ReadOnlySpan<byte> data, bool final)
        {
            var start = 0;
            while (start < data.Length)
            {
                var end = data[start..].IndexOf((byte)'\n');
                if (end < 0)
                {
                    if (!final)
                    {
                        return start;
                    }

                    end = data.Length - start;
                }

                var line = data.Slice(start, end);
                if (line.Length > 0 && line[^1] == (byte)'\r')
                {
                    line = line[..^1];
                }

                _line++;
                if (_line == 1 && line.StartsWith("\uFEFF"u8))
                {
                    line = line[3..];
                }

                ConsumeLine(line);
                start += end + 1;
            }

            return data.Length;
        }

        private void ConsumeLine(ReadOnlySpan<byte> line)
        {
            if (_header.Length == 0)
            {
                ReadHeader(line);
            }
            else if (!line.Trim((byte)' ').IsEmpty)
            {
                ReadRow(line);
            }
        }

        private void ReadHeader(ReadOnlySpan<byte> line)
        {
            if (line.Trim((byte)' ').IsEmpty)
            {
                throw new DatasetException(file, "the file is empty: expected a header row", _line);
            }

            var names = new List<string>();
            var cursor = new FieldCursor(line);
            while (cursor.Next(out var field))
            {
                names.Add(Encoding.UTF8.GetString(field.Unquoted()).Replace("\"\"", "\"", StringComparison.Ordinal));
            }

            _header = [.. names];
            _strategyIndex = new int[_header.Length];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var c = 0; c < _header.Length; c++)
            {
                var name = _header[c];
                if (!seen.Add(name))
                {
                    throw new DatasetException(file, $"duplicate column name '{name}'", _line, name);
                }

                var trimmed = name.Trim();
                if (trimmed.Length == 0)
                {
                    throw new DatasetException(file, $"column {c + 1} has an empty name", _line);
                }

                if (MetadataColumns.Contains(trimmed))
                {
                    _strategyIndex[c] = -1;
                    if (trimmed.Equals("Date", StringComparison.OrdinalIgnoreCase))
                    {
                        _dateColumn = c;
                    }
                }
                else
                {
                    _strategyIndex[c] = _strategies++;
                }
            }

            if (_dateColumn < 0)
            {
                throw new DatasetException(file, "missing 'Date' column in the header", _line);
            }

            if (_strategies == 0)
            {
                throw new DatasetException(file, "no strategy columns: every column is metadata", _line);
            }

            _rowMajor = new double[_strategies * 128];
        }

        private void ReadRow(ReadOnlySpan<byte> line)
        {
            if ((long)(_rows + 1) * _strategies > _rowMajor.Length)
            {
                Array.Resize(ref _rowMajor, checked(_rowMajor.Length * 2));
            }

            var row = _rowMajor.AsSpan(_rows * _strategies, _strategies);
            var cursor = new FieldCursor(line);
            var column = 0;
            while (cursor.Next(out var field))
            {
                if (column >= _header.Length)
                {
                    throw new DatasetException(file, $"ragged row: more than the header's {_header.Length} fields", _line);
                }

                var strategy = _strategyIndex[column];
                if (strategy >= 0)
                {
                    row[strategy] = ParseCell(field.Unquoted(), column);
                }
                else if (column == _dateColumn)
                {
                    _rawDates.Add((Encoding.UTF8.GetString(field.Unquoted().Trim((byte)' ')), _line));
                }

                column++;
            }

            if (column != _header.Length)
            {
                throw new DatasetException(file, $"ragged row: {column} fields where the header has {_header.Length}", _line);
            }

            _rows++;
        }

        private double ParseCell(ReadOnlySpan<byte> cell, int column)
        {
            cell = cell.Trim((byte)' ');
            if (cell.IsEmpty)
            {
                if (_emptyCells++ < 20)
                {
                    _warnings.Add($"{file}, row {_line}, column '{_header[column]}': empty cell read as 0");
                }

                return 0;
            }

            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                var text = Encoding.UTF8.GetString(cell);
                throw new DatasetException(file, $"'{text}' is not a finite number", _line, _header[column]);
            }

            return value;
        }

        public Dataset Finish(string fingerprint)
        {
            if (_header.Length == 0)
            {
                throw new DatasetException(file, "the file is empty: expected a header row");
            }

            if (_rows < 2)
            {
                throw new DatasetException(file, $"{_rows} data row(s): at least 2 are needed");
            }

            var dates = ParseDates();
            var columnMajor = GC.AllocateUninitializedArray<double>(_rows * _strategies);
            Transpose(_rowMajor, columnMajor, _rows, _strategies);
            var names = new string[_strategies];
            for (var c = 0; c < _header.Length; c++)
            {
                if (_strategyIndex[c] >= 0)
                {
                    names[_strategyIndex[c]] = _header[c];
                }
            }

            if (_emptyCells > 20)
            {
                _warnings.Add($"{file}: {_emptyCells} empty cells in all were read as 0 (first 20 listed)");
            }

            return new Dataset(file, new StrategyMatrix(names, dates, columnMajor), fingerprint, _emptyCells, _warnings);
        }

        private DateOnly[] ParseDates()
        {
            var dates = new DateOnly[_rawDates.Count];
            if (TryParseAll("yyyy-MM-dd", dates, out var isoFailure) || TryParseAll("dd-MM-yyyy", dates, out _))
            {
                return dates;
            }

            var (text, line) = _rawDates[isoFailure];
            throw new DatasetException(file, $"'{text}' is not a date (yyyy-MM-dd, or dd-MM-yyyy for the whole column)", line, _header[_dateColumn]);
        }

        private bool TryParseAll(string format, DateOnly[] dates, out int failure)
        {
            for (var i = 0; i < _rawDates.Count; i++)
            {
                if (!DateOnly.TryParseExact(_rawDates[i].Text, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out dates[i]))
                {
                    failure = i;
                    return false;
                }
            }

            failure = -1;
            return true;
        }

        private static void Transpose(double[] rowMajor, double[] columnMajor, int rows, int columns)
        {
            const int Block = 64;
            for (var c0 = 0; c0 < columns; c0 += Block)
            {
                var c1 = Math.Min(c0 + Block, columns);
                for (var r = 0; r < rows; r++)
                {
                    var source = r * columns;
                    for (var c = c0; c < c1; c++)
                    {
                        columnMajor[c * rows + r] = rowMajor[source + c];
                    }
                }
            }
        }
    }

    /// <summary>Walks the comma-separated fields of one line; a field in double quotes may hold commas and "" escapes.</summary>
    private ref struct FieldCursor(ReadOnlySpan<byte> line)
    {
        private ReadOnlySpan<byte> _rest = line;
        private bool _done;

        public bool Next(out Field field)
        {
            if (_done)
            {
                field = default;
                return false;
            }

            var quoted = _rest.Length > 0 && _rest[0] == (byte)'"';
            var end = quoted ? QuotedEnd(_rest) : _rest.IndexOf((byte)',');
            if (end < 0 || end >= _rest.Length)
            {
                field = new Field(_rest, quoted);
                _done = true;
                return true;
            }

            field = new Field(_rest[..end], quoted);
            _rest = _rest[(end + 1)..];
            return true;
        }

        private static int QuotedEnd(ReadOnlySpan<byte> text)
        {
            var i = 1;
            while (i < text.Length)
            {
                if (text[i] == (byte)'"')
                {
                    if (i + 1 < text.Length && text[i + 1] == (byte)'"')
                    {
                        i += 2;
                        continue;
                    }

                    var comma = text[(i + 1)..].IndexOf((byte)',');
                    return comma < 0 ? -1 : i + 1 + comma;
                }

                i++;
            }

            return -1;
        }
    }

    private readonly ref struct Field(ReadOnlySpan<byte> raw, bool quoted)
    {
        private readonly ReadOnlySpan<byte> _raw = raw;

        /// <summary>The field without its quotes; a doubled quote inside stays doubled (names rarely hold one).</summary>
        public ReadOnlySpan<byte> Unquoted()
        {
            if (!quoted)
            {
                return _raw;
            }

            var inner = _raw.TrimEnd((byte)' ');
            return inner.Length >= 2 && inner[^1] == (byte)'"' ? inner[1..^1] : inner[1..];
        }
    }
}
