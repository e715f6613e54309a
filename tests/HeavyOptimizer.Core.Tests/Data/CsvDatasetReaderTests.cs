using System.Text;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.Data;

public sealed class CsvDatasetReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dataset Read(string content, string name = "input.csv") => CsvDatasetReader.Read(_dir.File(name, content));

    private DatasetException Fails(string content, string name = "input.csv") =>
        Assert.Throws<DatasetException>(() => Read(content, name));

    [Fact]
    public void Reads_columns_dates_and_metadata_by_name()
    {
        var data = Read("Date,Day,A,Zone,B\n2024-01-04,Thursday,1.5,X,-2\n2024-01-11,Thursday,,Y,3e2\n");

        Assert.Equal(["A", "B"], data.Matrix.Names);
        Assert.Equal([new DateOnly(2024, 1, 4), new DateOnly(2024, 1, 11)], data.Matrix.Dates);
        Assert.Equal([1.5, 0], data.Matrix.Column(0).ToArray());
        Assert.Equal([-2, 300], data.Matrix.Column(1).ToArray());
        Assert.Equal(1, data.EmptyCells);
        Assert.Contains(data.Warnings, w => w.Contains("row 3", StringComparison.Ordinal) && w.Contains("'A'", StringComparison.Ordinal));
        Assert.Equal(64, data.Fingerprint.Length);
    }

    [Fact]
    public void The_first_strategy_after_Date_and_Day_is_a_strategy()
    {
        // The legacy tool assumed three metadata columns and dropped this strategy.
        var data = Read("Date,Day,First,Second\n2024-01-04,Thursday,1,2\n2024-01-11,Thursday,3,4\n");
        Assert.Equal("First", data.Matrix.Names[0]);
    }

    [Fact]
    public void Metadata_names_are_case_insensitive()
    {
        var data = Read("date,DAY,START_TIME,Capital,A\n2024-01-04,Thu,09:15,100,1\n2024-01-11,Thu,09:15,100,2\n");
        Assert.Equal(["A"], data.Matrix.Names);
    }

    [Fact]
    public void Day_first_dates_are_accepted_when_the_whole_column_parses_that_way()
    {
        var data = Read("Date,A\n04-01-2024,1\n11-01-2024,2\n");
        Assert.Equal(new DateOnly(2024, 1, 11), data.Matrix.Dates[1]);
    }

    [Fact]
    public void Handles_bom_crlf_quotes_and_blank_trailing_lines()
    {
        var data = Read("\uFEFFDate,\"Strat, with comma\",B\r\n2024-01-04,1,\"2\"\r\n2024-01-11,3,4\r\n\r\n");
        Assert.Equal(["Strat, with comma", "B"], data.Matrix.Names);
        Assert.Equal([2, 4], data.Matrix.Column(1).ToArray());
    }

    [Fact]
    public void Rows_spanning_read_chunks_are_parsed_whole()
    {
        var matrix = Some.RandomMatrix(3000, 60, 3);
        var data = Read(Some.Csv(matrix));
        Assert.Equal(matrix.Values.ToArray(), data.Matrix.Values.ToArray());
    }

    [Fact]
    public void Same_bytes_same_fingerprint_different_bytes_different()
    {
        var a = Read("Date,A\n2024-01-04,1\n2024-01-11,2\n", "a.csv");
        var b = Read("Date,A\n2024-01-04,1\n2024-01-11,2\n", "b.csv");
        var c = Read("Date,A\n2024-01-04,1\n2024-01-11,3\n", "c.csv");
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.NotEqual(a.Fingerprint, c.Fingerprint);
    }

    [Fact]
    public void Non_numeric_cell_names_file_row_and_column()
    {
        var e = Fails("Date,A,B\n2024-01-04,1,2\n2024-01-11,1,abc\n");
        Assert.Equal(3, e.Row);
        Assert.Equal("B", e.ColumnName);
        Assert.Contains("input.csv", e.Message, StringComparison.Ordinal);
        Assert.Contains("'abc'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_several_bad_rows_parsed_together_the_first_is_reported()
    {
        var rows = string.Concat(Enumerable.Range(0, 40).Select(i => $"2024-01-{i % 28 + 1:00},{(i is 17 or 31 ? "bad" + i : "1")},2\n"));
        var e = Fails("Date,A,B\n" + rows);
        Assert.Equal(19, e.Row);
        Assert.Contains("'bad17'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_cells_are_listed_in_file_order_the_first_twenty_then_counted()
    {
        var rows = string.Concat(Enumerable.Range(0, 30).Select(i => $"2024-01-{i % 28 + 1:00},,\n"));
        var data = Read("Date,A,B\n" + rows);
        Assert.Equal(60, data.EmptyCells);
        Assert.Equal(21, data.Warnings.Count);
        Assert.Contains("row 2, column 'A'", data.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("row 2, column 'B'", data.Warnings[1], StringComparison.Ordinal);
        Assert.Contains("row 11, column 'B'", data.Warnings[19], StringComparison.Ordinal);
        Assert.Contains("60 empty cells", data.Warnings[20], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nan")]
    [InlineData("inf")]
    [InlineData("1,5")]
    public void Non_finite_or_malformed_numbers_are_errors(string cell)
    {
        var e = Fails($"Date,A\n2024-01-04,1\n2024-01-11,\"{cell}\"\n");
        Assert.Equal(3, e.Row);
    }

    [Fact]
    public void Duplicate_strategy_name_is_an_error()
    {
        var e = Fails("Date,A,B,A\n2024-01-04,1,2,3\n2024-01-11,1,2,3\n");
        Assert.Equal(1, e.Row);
        Assert.Equal("A", e.ColumnName);
        Assert.Contains("duplicate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Date,A,B\n2024-01-04,1,2\n2024-01-11,1\n")]
    [InlineData("Date,A,B\n2024-01-04,1,2\n2024-01-11,1,2,3\n")]
    public void Ragged_row_is_an_error(string content)
    {
        var e = Fails(content);
        Assert.Equal(3, e.Row);
        Assert.Contains("ragged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_date_column_is_an_error()
    {
        var e = Fails("Day,A\nMonday,1\nTuesday,2\n");
        Assert.Contains("missing 'Date'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Date,A\n2024-01-04,1\n")]
    [InlineData("Date,A\n")]
    public void Fewer_than_two_rows_is_an_error(string content)
    {
        Assert.Contains("at least 2", Fails(content).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_file_is_an_error()
    {
        Assert.Contains("empty", Fails(string.Empty).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_date_names_its_row()
    {
        var e = Fails("Date,A\n2024-01-04,1\n2024-13-45,2\n");
        Assert.Equal(3, e.Row);
        Assert.Equal("Date", e.ColumnName);
    }

    [Fact]
    public void Only_metadata_columns_is_an_error()
    {
        Assert.Contains("no strategy", Fails("Date,Day\n2024-01-04,Thu\n2024-01-11,Thu\n").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_a_dataset_error_naming_it()
    {
        var path = Path.Combine(_dir.Path, "absent.csv");
        var e = Assert.Throws<DatasetException>(() => CsvDatasetReader.Read(path));
        Assert.Contains("absent.csv", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fewer_strategies_than_the_portfolio_size_is_an_error_naming_the_file()
    {
        var data = Read("Date,A,B\n2024-01-04,1,2\n2024-01-11,1,2\n");
        var e = Assert.Throws<DatasetException>(() => Optimizer.Run(data, new OptimizationRequest { MinSize = 3, MaxSize = 3 }));
        Assert.Contains("input.csv", e.Message, StringComparison.Ordinal);
        Assert.Contains("portfolio size 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_from_a_stream_names_the_source_in_errors()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("Date,A\n2024-01-04,x\n2024-01-11,1\n"));
        var e = Assert.Throws<DatasetException>(() => CsvDatasetReader.Read(stream, "upload:job-7"));
        Assert.StartsWith("upload:job-7, row 2", e.Message, StringComparison.Ordinal);
    }
}
