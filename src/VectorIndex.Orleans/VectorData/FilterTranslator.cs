using System.Linq.Expressions;
using System.Reflection;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace VectorIndex.Orleans.VectorData;

/// <summary>
/// Translates a MEVD filter expression into a <see cref="ShardFilter"/>: comparisons of a data property (<c>r.Name</c>,
/// or <c>r["Name"]</c> on a dynamic record) with a value
/// (==, !=, &lt;, &lt;=, &gt;, &gt;=), a bool property, <c>Contains</c> on a collection property, and &amp;&amp;, ||, !.
/// Anything else throws <see cref="NotSupportedException"/>. Values not depending on the record (constants, captured
/// variables) are evaluated once, here.
/// </summary>
internal static class FilterTranslator
{
    public static ShardFilter Translate(LambdaExpression filter, CollectionModel model)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return Visit(filter.Body, filter.Parameters[0], model);
    }

    private static ShardFilter Visit(Expression e, ParameterExpression record, CollectionModel model)
    {
        switch (e)
        {
            case BinaryExpression { NodeType: ExpressionType.AndAlso } and:
                return Node(ShardFilterOperator.And, Visit(and.Left, record, model), Visit(and.Right, record, model));
            case BinaryExpression { NodeType: ExpressionType.OrElse } or:
                return Node(ShardFilterOperator.Or, Visit(or.Left, record, model), Visit(or.Right, record, model));
            case UnaryExpression { NodeType: ExpressionType.Not } not:
                return Node(ShardFilterOperator.Not, Visit(not.Operand, record, model));
            case BinaryExpression binary when Comparison(binary.NodeType) is { } op:
                if (Field(binary.Left, record, model) is { } left && !DependsOn(binary.Right, record))
                {
                    return ShardFilter.Compare(left, op, Evaluate(binary.Right));
                }

                if (Field(binary.Right, record, model) is { } right && !DependsOn(binary.Left, record))
                {
                    return ShardFilter.Compare(right, Flip(op), Evaluate(binary.Left));
                }

                break;
            case MemberExpression or UnaryExpression or MethodCallExpression when e.Type == typeof(bool) && Field(e, record, model) is { } flag:
                return ShardFilter.Compare(flag, ShardFilterOperator.Equal, true);
            case MethodCallExpression { Method.Name: "Contains" } call:
                // list.Contains(value) (instance) or Enumerable.Contains(list, value) / MemoryExtensions.Contains(span, value)
                var (source, item) = call.Object is not null ? (call.Object, call.Arguments[0]) : (call.Arguments[0], call.Arguments[1]);
                source = StripConversions(source);
                if (Field(source, record, model) is { } collection && !DependsOn(item, record))
                {
                    return ShardFilter.Compare(collection, ShardFilterOperator.Contains, Evaluate(item));
                }

                break;
        }

        throw new NotSupportedException($"The filter '{e}' is not supported by sharded VectorIndex collections: use comparisons of data properties with values, bool properties, Contains on a collection property, &&, || and !.");
    }

    private static ShardFilter Node(ShardFilterOperator op, params ShardFilter[] children) => new() { Operator = op, Children = children };

    private static ShardFilterOperator? Comparison(ExpressionType type) => type switch
    {
        ExpressionType.Equal => ShardFilterOperator.Equal,
        ExpressionType.NotEqual => ShardFilterOperator.NotEqual,
        ExpressionType.LessThan => ShardFilterOperator.LessThan,
        ExpressionType.LessThanOrEqual => ShardFilterOperator.LessThanOrEqual,
        ExpressionType.GreaterThan => ShardFilterOperator.GreaterThan,
        ExpressionType.GreaterThanOrEqual => ShardFilterOperator.GreaterThanOrEqual,
        _ => null,
    };

    private static ShardFilterOperator Flip(ShardFilterOperator op) => op switch
    {
        ShardFilterOperator.LessThan => ShardFilterOperator.GreaterThan,
        ShardFilterOperator.LessThanOrEqual => ShardFilterOperator.GreaterThanOrEqual,
        ShardFilterOperator.GreaterThan => ShardFilterOperator.LessThan,
        ShardFilterOperator.GreaterThanOrEqual => ShardFilterOperator.LessThanOrEqual,
        _ => op,
    };

    private static Expression StripConversions(Expression e)
    {
        while (e is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked } convert)
        {
            e = convert.Operand;
        }

        // A C# 14 first-class span conversion (array.Contains(x) bound to MemoryExtensions) wraps the array in op_Implicit.
        if (e is MethodCallExpression { Method.Name: "op_Implicit", Arguments.Count: 1 } implicitCall)
        {
            e = implicitCall.Arguments[0];
        }

        return e;
    }

    // The storage name of a data property read straight from the record, or null.
    private static string? Field(Expression e, ParameterExpression record, CollectionModel model)
    {
        e = StripConversions(e);
        if (e is MemberExpression { Member: PropertyInfo property } member && member.Expression == record)
        {
            var data = model.DataProperties.FirstOrDefault(p => p.ModelName == property.Name);
            return data?.StorageName
                ?? throw new NotSupportedException($"The filter reads '{property.Name}', which is not a data property; only data properties can be filtered on.");
        }

        // A dynamic record's value: r["Name"].
        if (e is MethodCallExpression { Method.Name: "get_Item", Arguments: [ConstantExpression { Value: string name }] } item && item.Object == record)
        {
            var data = model.DataProperties.FirstOrDefault(p => p.ModelName == name);
            return data?.StorageName
                ?? throw new NotSupportedException($"The filter reads '{name}', which is not a data property; only data properties can be filtered on.");
        }

        return null;
    }

    private static bool DependsOn(Expression e, ParameterExpression record)
    {
        var finder = new ParameterFinder(record);
        finder.Visit(e);
        return finder.Found;
    }

    private static object? Evaluate(Expression e) => Expression.Lambda(e).Compile(preferInterpretation: true).DynamicInvoke();

    private sealed class ParameterFinder(ParameterExpression parameter) : ExpressionVisitor
    {
        public bool Found { get; private set; }

        protected override Expression VisitParameter(ParameterExpression node)
        {
            Found |= node == parameter;
            return node;
        }
    }
}
