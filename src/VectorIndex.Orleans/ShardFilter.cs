using System.Text.Json;
using System.Text.Json.Nodes;

namespace VectorIndex.Orleans;

/// <summary>The operator of a <see cref="ShardFilter"/> node.</summary>
public enum ShardFilterOperator
{
    /// <summary>Both children hold.</summary>
    And,

    /// <summary>Either child holds.</summary>
    Or,

    /// <summary>The child does not hold.</summary>
    Not,

    /// <summary>The field equals the value (a missing field equals null).</summary>
    Equal,

    /// <summary>The field differs from the value.</summary>
    NotEqual,

    /// <summary>The field is less than the value (numbers by value, strings ordinally; false when either is null).</summary>
    LessThan,

    /// <summary>The field is at most the value.</summary>
    LessThanOrEqual,

    /// <summary>The field is greater than the value.</summary>
    GreaterThan,

    /// <summary>The field is at least the value.</summary>
    GreaterThanOrEqual,

    /// <summary>The field is an array that holds the value.</summary>
    Contains,
}

/// <summary>
/// A filter on the records' payload (a JSON object, as the MEVD layer stores data properties), evaluated inside each
/// shard: the index's filtered search asks it for candidates, so the index's planner chooses the plan.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ShardFilter
{
    /// <summary>The operator.</summary>
    [Id(0)] public required ShardFilterOperator Operator { get; init; }

    /// <summary>The payload field a comparison reads.</summary>
    [Id(1)] public string? Field { get; init; }

    /// <summary>The value a comparison compares with, as JSON (<c>null</c> for null).</summary>
    [Id(2)] public string? Value { get; init; }

    /// <summary>The children of <see cref="ShardFilterOperator.And"/>, <see cref="ShardFilterOperator.Or"/> (two) and <see cref="ShardFilterOperator.Not"/> (one).</summary>
    [Id(3)] public IReadOnlyList<ShardFilter> Children { get; init; } = [];

    /// <summary>A comparison of a field with a value.</summary>
    /// <param name="field">The payload field.</param>
    /// <param name="op">A comparison operator.</param>
    /// <param name="value">The value, serialized as JSON.</param>
    /// <returns>The node.</returns>
    public static ShardFilter Compare(string field, ShardFilterOperator op, object? value) =>
        new() { Operator = op, Field = field, Value = JsonSerializer.Serialize(value, value?.GetType() ?? typeof(object)) };

    /// <summary>Checks the tree's shape.</summary>
    /// <exception cref="ArgumentException">A node has the wrong number of children, or a comparison has no field.</exception>
    public void Validate()
    {
        switch (Operator)
        {
            case ShardFilterOperator.And or ShardFilterOperator.Or when Children.Count == 2:
            case ShardFilterOperator.Not when Children.Count == 1:
                foreach (var child in Children)
                {
                    child.Validate();
                }

                return;
            case >= ShardFilterOperator.Equal and <= ShardFilterOperator.Contains when !string.IsNullOrEmpty(Field) && Children.Count == 0:
                return;
            default:
                throw new ArgumentException($"A filter node '{Operator}' has {Children.Count} children or no field.", "filter");
        }
    }

    /// <summary>Compiles the tree into a predicate over a payload.</summary>
    /// <returns>The predicate; a null payload has every field missing.</returns>
    /// <exception cref="ArgumentException">The tree is malformed or a value is not JSON.</exception>
    public Func<JsonObject?, bool> Compile()
    {
        Validate();
        return Build(this);
    }

    private static Func<JsonObject?, bool> Build(ShardFilter node)
    {
        switch (node.Operator)
        {
            case ShardFilterOperator.And:
            {
                var a = Build(node.Children[0]);
                var b = Build(node.Children[1]);
                return p => a(p) && b(p);
            }

            case ShardFilterOperator.Or:
            {
                var a = Build(node.Children[0]);
                var b = Build(node.Children[1]);
                return p => a(p) || b(p);
            }

            case ShardFilterOperator.Not:
            {
                var a = Build(node.Children[0]);
                return p => !a(p);
            }
        }

        JsonNode? value;
        try
        {
            value = node.Value is null ? null : JsonNode.Parse(node.Value);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The filter value of field '{node.Field}' is not JSON.", "filter", ex);
        }

        string field = node.Field!;
        var op = node.Operator;
        return p =>
        {
            JsonNode? actual = p is not null && p.TryGetPropertyValue(field, out var found) ? found : null;
            return op switch
            {
                ShardFilterOperator.Equal => JsonEquals(actual, value),
                ShardFilterOperator.NotEqual => !JsonEquals(actual, value),
                ShardFilterOperator.Contains => actual is JsonArray array && array.Any(item => JsonEquals(item, value)),
                _ => Order(actual, value) is int c && op switch
                {
                    ShardFilterOperator.LessThan => c < 0,
                    ShardFilterOperator.LessThanOrEqual => c <= 0,
                    ShardFilterOperator.GreaterThan => c > 0,
                    _ => c >= 0,
                },
            };
        };
    }

    private static bool JsonEquals(JsonNode? a, JsonNode? b) =>
        a is null || b is null ? a is null && b is null
        : a is JsonValue va && b is JsonValue vb && va.GetValueKind() == JsonValueKind.Number && vb.GetValueKind() == JsonValueKind.Number
            ? va.GetValue<double>() == vb.GetValue<double>()
            : JsonNode.DeepEquals(a, b);

    private static int? Order(JsonNode? a, JsonNode? b)
    {
        if (a is not JsonValue va || b is not JsonValue vb || va.GetValueKind() != vb.GetValueKind())
        {
            return null;
        }

        return va.GetValueKind() switch
        {
            JsonValueKind.Number => va.GetValue<double>().CompareTo(vb.GetValue<double>()),
            JsonValueKind.String => string.CompareOrdinal(va.GetValue<string>(), vb.GetValue<string>()),
            _ => null,
        };
    }
}
