using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HeavyOptimizer.Core.Data;

/// <summary>
/// Reads a strategy CSV (SPEC section 1) in one streaming pass over its bytes (8 MiB at a time, the rows of each
/// chunk parsed in parallel): no allocation per cell, values land row-major in one growing buffer and are transposed
/// to column-major at the end, and the content fingerprint is hashed on the way.
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

    private const int ChunkSize = 1 << 23;

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

        /// <summary>
        /// Consumes the complete lines of <paramref name="data"/> (all of it when <paramref name="final"/>) and returns
        /// how many bytes it used. The header is read first; the data rows of the chunk are parsed in parallel (a wide
        /// file's rows are a megabyte each), and their errors and warnings taken in line order afterwards.
        /// </summary>
        public int ConsumeLines(ReadOnlySpan<byte> data, bool final)
        {
            var rows = new List<(int Start, int Length, long Line)>();
            var start = 0;
            while (start < data.Length)
            {
                var end = data[start..].IndexOf((byte)'\n');
                if (end < 0)
                {
                    if (!final)
                    {
                        break;
                    }

                    end = data.Length - start;
                }

                var (from, length) = (start, end);
                if (length > 0 && data[from + length - 1] == (byte)'\r')
                {
                    length--;
                }

                _line++;
                if (_line == 1 && data.Slice(from, length).StartsWith("\uFEFF"u8))
                {
                    (from, length) = (from + 3, length - 3);
                }

                if (_header.Length == 0)
                {
                    ReadHeader(data.Slice(from, length));
                }
                else if (!data.Slice(from, length).Trim((byte)' ').IsEmpty)
                {
                    rows.Add((from, length, _line));
                }

                start += end + 1;
            }

            ReadRows(data, rows);
            return Math.Min(start, data.Length);
        }

        private unsafe void ReadRows(ReadOnlySpan<byte> data, List<(int Start, int Length, long Line)> lines)
        {
            if (lines.Count == 0)
            {
                return;
            }

            while ((long)(_rows + lines.Count) * _strategies > _rowMajor.Length)
            {
                Array.Resize(ref _rowMajor, checked(_rowMajor.Length * 2));
            }

            var results = new RowResult[lines.Count];
            fixed (byte* pointer = data)
            {
                var (address, length, first) = ((nint)pointer, data.Length, _rows);
                Parallel.For(0, lines.Count, i =>
                {
                    var all = new ReadOnlySpan<byte>((byte*)address, length);
                    var (from, count, line) = lines[i];
                    results[i] = ReadRow(all.Slice(from, count), line, _rowMajor.AsSpan((first + i) * _strategies, _strategies));
                });
            }

            foreach (var (result, (_, _, line)) in results.Zip(lines))
            {
                if (result.Error is { } error)
                {
                    throw error;
                }

                foreach (var column in result.EmptyColumns)
                {
                    if (_emptyCells++ < 20)
                    {
                        _warnings.Add($"{file}, row {line}, column '{_header[column]}': empty cell read as 0");
                    }
                }

                _emptyCells += result.MoreEmpty;
                _rawDates.Add((result.Date!, line));
                _rows++;
            }
        }

        /// <summary>One parsed row: its date, the columns of its first empty cells and how many more there were, or its error.</summary>
        private readonly record struct RowResult(string? Date, List<int> EmptyColumns, long MoreEmpty, DatasetException? Error);

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

        private RowResult ReadRow(ReadOnlySpan<byte> text, long line, Span<double> row)
        {
            var empty = new List<int>();
            long more = 0;
            string? date = null;
            var cursor = new FieldCursor(text);
            var column = 0;
            while (cursor.Next(out var field))
            {
                if (column >= _header.Length)
                {
                    return Failed(new DatasetException(file, $"ragged row: more than the header's {_header.Length} fields", line));
                }

                var strategy = _strategyIndex[column];
                if (strategy >= 0)
                {
                    var cell = field.Unquoted().Trim((byte)' ');
                    if (cell.IsEmpty)
                    {
                        row[strategy] = 0;
                        if (empty.Count < 20)
                        {
                            empty.Add(column);
                        }
                        else
                        {
                            more++;
                        }
                    }
                    else if (Number(cell, out var value) && double.IsFinite(value))
                    {
                        row[strategy] = value;
                    }
                    else
                    {
                        return Failed(new DatasetException(file, $"'{Encoding.UTF8.GetString(cell)}' is not a finite number", line, _header[column]));
                    }
                }
                else if (column == _dateColumn)
                {
                    date = Encoding.UTF8.GetString(field.Unquoted().Trim((byte)' '));
                }

                column++;
            }

            return column != _header.Length
                ? Failed(new DatasetException(file, $"ragged row: {column} fields where the header has {_header.Length}", line))
                : new RowResult(date, empty, more, null);

            static RowResult Failed(DatasetException error) => new(null, [], 0, error);
        }

        /// <summary>
        /// A cell's number: <see cref="Utf8Parser"/> first (twice as fast on the 17-digit values P&amp;L files hold, and
        /// the same correctly rounded result), <see cref="double.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider, out double)"/>
        /// for anything it does not take whole, so the forms accepted are exactly double.TryParse's.
        /// </summary>
        private static bool Number(ReadOnlySpan<byte> cell, out double value) =>
            Utf8Parser.TryParse(cell, out value, out var used) && used == cell.Length
            || double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

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
