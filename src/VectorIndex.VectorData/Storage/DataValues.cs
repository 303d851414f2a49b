using System.Collections;
using System.Globalization;

namespace VectorIndex.VectorData.Storage;

/// <summary>The data property types rows store, their conversions and copies.</summary>
internal static class DataValues
{
    private static readonly Type[] s_scalars =
    [
        typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long),
        typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(string), typeof(Guid), typeof(DateTime),
        typeof(DateTimeOffset), typeof(DateOnly), typeof(TimeOnly), typeof(char),
    ];

    public const string SupportedTypes =
        "bool, byte, sbyte, short, ushort, int, uint, long, ulong, float, double, decimal, string, Guid, DateTime, DateTimeOffset, " +
        "DateOnly, TimeOnly, char, their nullable forms, and arrays or List<T> of these";

    public static bool IsScalar(Type type) => Array.IndexOf(s_scalars, Nullable.GetUnderlyingType(type) ?? type) >= 0;

    public static bool IsSupported(Type type) =>
        type == typeof(object) || IsScalar(type) || (ElementTypeOf(type) is { } element && IsScalar(element));

    /// <summary>The element type of T[] or List&lt;T&gt;, else null.</summary>
    public static Type? ElementTypeOf(Type type) =>
        type.IsArray && type.GetArrayRank() == 1 ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0]
        : null;

    /// <summary>A value as a row keeps it: scalars as they are, arrays and lists copied (the caller may change theirs).</summary>
    public static object? ForStorage(object? value, string propertyName)
    {
        if (value is null)
        {
            return null;
        }

        var type = value.GetType();
        if (IsScalar(type))
        {
            return value;
        }

        if (ElementTypeOf(type) is { } element && IsScalar(element))
        {
            return Copy((IList)value, type);
        }

        throw new ArgumentException($"Property '{propertyName}' has a value of type '{type.Name}'; supported: {SupportedTypes}.");
    }

    private static object Copy(IList source, Type type)
    {
        if (type.IsArray)
        {
            var array = Array.CreateInstance(type.GetElementType()!, source.Count);
            source.CopyTo(array, 0);
            return array;
        }

        var list = (IList)Activator.CreateInstance(type, source.Count)!;
        foreach (object? item in source)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>
    /// A stored value as <paramref name="target"/> (the reading record's property type): the same value, a numeric
    /// conversion, an array as a list or back; collections are always fresh copies.
    /// </summary>
    public static object? ConvertTo(object? value, Type target)
    {
        if (value is null)
        {
            return null;
        }

        var type = value.GetType();
        if (target == typeof(object))
        {
            return value is IList list && !IsScalar(type) ? Copy(list, type) : value;
        }

        var underlying = Nullable.GetUnderlyingType(target) ?? target;
        if (underlying == type)
        {
            return value is IList list && !IsScalar(type) ? Copy(list, type) : value;
        }

        if (ElementTypeOf(underlying) is { } targetElement && value is IList source && !IsScalar(type))
        {
            if (underlying.IsArray)
            {
                var array = Array.CreateInstance(targetElement, source.Count);
                for (int i = 0; i < source.Count; i++)
                {
                    array.SetValue(ConvertTo(source[i], targetElement), i);
                }

                return array;
            }

            var result = (IList)Activator.CreateInstance(underlying, source.Count)!;
            foreach (object? item in source)
            {
                result.Add(ConvertTo(item, targetElement));
            }

            return result;
        }

        if (value is IConvertible && (underlying.IsPrimitive || underlying == typeof(decimal) || underlying == typeof(string)))
        {
            return Convert.ChangeType(value, underlying, CultureInfo.InvariantCulture);
        }

        throw new InvalidCastException($"A stored value of type '{type.Name}' cannot be read as '{target.Name}'.");
    }

    /// <summary>
    /// The form an inverted index keys a value by: integers and decimals as decimal (so 5, 5L and 5m meet), other
    /// values as they are (float and double properties are not looked up in indexes, see FilterCompiler). Null
    /// values get <see cref="NullKey"/>.
    /// </summary>
    public static object IndexKey(object? value) => value switch
    {
        null => NullKey,
        sbyte or byte or short or ushort or int or uint or long or ulong or decimal => Convert.ToDecimal(value, CultureInfo.InvariantCulture),
        _ => value,
    };

    /// <summary>The inverted-index key of null values.</summary>
    public static readonly object NullKey = new();
}
