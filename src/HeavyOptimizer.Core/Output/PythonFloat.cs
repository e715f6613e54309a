using System.Globalization;

namespace HeavyOptimizer.Core.Output;

/// <summary>
/// Formats doubles the way the legacy Python tool wrote them (<c>repr</c>: shortest round-trip digits, ".0" on whole
/// numbers, scientific notation below 1e-4 and from 1e16, "inf"/"nan"), so old and new files compare line by line.
/// </summary>
public static class PythonFloat
{
    /// <summary>Python's <c>repr(value)</c>.</summary>
    public static string Format(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }

        // "R" gives the shortest digits that round-trip. Where it writes a plain decimal in repr's plain range (most
        // values), repr is that text with ".0" on a whole number; otherwise the digits are laid out as repr does.
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        return Math.Abs(value) is >= 1e-4 and < 1e16 && !shortest.Contains('E', StringComparison.Ordinal)
            ? shortest.Contains('.', StringComparison.Ordinal) ? shortest : shortest + ".0"
            : Laid(shortest);
    }

    /// <summary>repr's text from "R"'s shortest round-trip text of a finite non-zero value, in any of its layouts.</summary>
    internal static string Laid(string shortest)
    {
        var negative = shortest[0] == '-';
        var body = negative ? shortest[1..] : shortest;
        var exponentAt = body.IndexOfAny(['E', 'e']);
        var exponent = exponentAt >= 0 ? int.Parse(body[(exponentAt + 1)..], CultureInfo.InvariantCulture) : 0;
        var mantissa = exponentAt >= 0 ? body[..exponentAt] : body;
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = mantissa.Replace(".", string.Empty, StringComparison.Ordinal);
        var pointPosition = (point >= 0 ? point : mantissa.Length) + exponent;
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        pointPosition -= leadingZeros;
        var decimalExponent = pointPosition - 1;
        string text;
        if (decimalExponent is >= -4 and < 16)
        {
            if (pointPosition <= 0)
            {
                text = "0." + new string('0', -pointPosition) + digits;
            }
            else if (pointPosition >= digits.Length)
            {
                text = digits + new string('0', pointPosition - digits.Length) + ".0";
            }
            else
            {
                text = digits[..pointPosition] + "." + digits[pointPosition..];
            }
        }
        else
        {
            var fraction = digits.Length > 1 ? "." + digits[1..] : string.Empty;
            var sign = decimalExponent < 0 ? "-" : "+";
            text = $"{digits[0]}{fraction}e{sign}{Math.Abs(decimalExponent):00}";
        }

        return negative ? "-" + text : text;
    }
}
