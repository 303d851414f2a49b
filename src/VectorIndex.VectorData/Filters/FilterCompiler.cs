using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData.Filters;

/// <summary>
/// Compiles a MEVD filter (<c>r =&gt; ...</c> over a typed record, or over <c>Dictionary&lt;string, object?&gt;</c>) into a
/// predicate over rows. The abstractions' preprocessing folds captured values into constants and binds <c>r.Prop</c> and
/// <c>r["Name"]</c> to the model; each bound access becomes a read of the row's stored value, converted to the
/// property's type. Everything else stays as written, so the predicate has C# semantics: lifted comparisons for nullable
/// values, string equality by value, <c>Contains</c> on arrays and lists, and so on.
/// </summary>
internal sealed class FilterCompiler : FilterTranslatorBase
{
    private static readonly MethodInfo s_read = typeof(FilterCompiler).GetMethod(nameof(Read), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo s_objectEquals = typeof(object).GetMethod(nameof(Equals), BindingFlags.Public | BindingFlags.Static, [typeof(object), typeof(object)])!;

    private FilterCompiler()
    {
    }

    /// <summary>Compiles a filter; delegates are cached in <paramref name="cache"/> by the filter's shape (constants aside).</summary>
    public static CompiledFilter Compile(LambdaExpression filter, CollectionModel model, FilterCache? cache = null)
    {
        var compiler = new FilterCompiler();
        var body = compiler.PreprocessFilter(filter, model, new FilterPreprocessingOptions { SupportsParameterization = false });
        var row = Expression.Parameter(typeof(Row), "row");
        var rewriter = new Rewriter(compiler, row);
        var rewritten = rewriter.Visit(body)!;
        if (rewriter.UnboundRecordUse)
        {
            throw new NotSupportedException(
                $"The filter uses the record in a way VectorIndex cannot translate ({filter}); use its properties (r.Name or r[\"Name\"]).");
        }

        if (rewritten.Type != typeof(bool))
        {
            throw new NotSupportedException($"The filter must be a boolean expression ({filter}).");
        }

        // Compiling a delegate costs far more than a search, and filters are usually the same shape with other values
        // (r => r.City == city): the constants become slots of an argument array, and the delegate is cached by the
        // shape of what remains.
        var values = Expression.Parameter(typeof(object?[]), "values");
        var lifter = new ConstantLifter(values);
        var lifted = lifter.Visit(rewritten)!;
        object?[] arguments = [.. lifter.Values];
        var compiled = cache is null
            ? Expression.Lambda<Func<Row, object?[], bool>>(lifted, row, values).Compile()
            : cache.GetOrAdd(ShapeKey.Of(lifted), () => Expression.Lambda<Func<Row, object?[], bool>>(lifted, row, values).Compile());

        // C# would throw NullReferenceException for a member of a null value (r.Name.StartsWith(...) with Name null);
        // a row for which the filter cannot be evaluated does not match, rather than failing the whole query.
        bool Predicate(Row r)
        {
            try
            {
                return compiled(r, arguments);
            }
            catch (NullReferenceException)
            {
                return false;
            }
        }

        var terms = new List<IndexTerm>();
        bool covered = compiler.CollectTerms(body, terms);
        return new CompiledFilter(Predicate, terms, covered);
    }

    private bool TryBind(Expression expression, out PropertyModel property)
    {
        if (TryBindProperty(expression, out var bound))
        {
            property = bound;
            return true;
        }

        property = null!;
        return false;
    }

    /// <summary>
    /// Finds conjuncts that an inverted index can answer: equality with a constant and Contains. Returns whether the
    /// expression is answered entirely by the terms it added (then the predicate need not run on the allowed rows).
    /// </summary>
    private bool CollectTerms(Expression expression, List<IndexTerm> terms)
    {
        switch (expression)
        {
            case BinaryExpression { NodeType: ExpressionType.AndAlso or ExpressionType.And } conjunction when conjunction.Type == typeof(bool):
                bool left = CollectTerms(conjunction.Left, terms);
                bool right = CollectTerms(conjunction.Right, terms);
                return left && right;

            // Built-in equality, or a stored type's own == (string, decimal, Guid, dates): the same as Equals, which the index uses.
            case BinaryExpression { NodeType: ExpressionType.Equal } equal
                when equal.Method is null || (equal.Method.Name == "op_Equality" && DataValues.IsScalar(equal.Method.DeclaringType!)):
                if (IndexedScalar(equal.Left) is { } l && ConstantValue(equal.Right, out object? rightValue))
                {
                    terms.Add(new IndexTerm(l.StorageName, [rightValue]));
                    return true;
                }

                if (IndexedScalar(equal.Right) is { } r && ConstantValue(equal.Left, out object? leftValue))
                {
                    terms.Add(new IndexTerm(r.StorageName, [leftValue]));
                    return true;
                }

                return false;

            case MethodCallExpression call when TryMatchContains(call, out var source, out var item):
                // r.Tags.Contains("x"): rows whose list holds "x".
                if (Indexed(source) is { } listProperty && DataValues.ElementTypeOf(listProperty.Type) is { } element
                    && Exact(element) && ConstantValue(item, out object? value) && value is not null)
                {
                    terms.Add(new IndexTerm(listProperty.StorageName, [value]));
                    return true;
                }

                // new[] { "a", "b" }.Contains(r.Name): rows whose value is one of them.
                if (IndexedScalar(item) is { } scalar && ConstantValue(source, out object? values) && values is IEnumerable enumerable)
                {
                    terms.Add(new IndexTerm(scalar.StorageName, enumerable.Cast<object?>().ToArray()));
                    return true;
                }

                return false;

            default:
                return false;
        }
    }

    /// <summary>
    /// Whether the inverted index's equality is exactly C#'s for this type. Not for float and double: C# compares a
    /// float with a double constant after widening, which the index's keys cannot follow (and NaN != NaN).
    /// </summary>
    private static bool Exact(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying != typeof(float) && underlying != typeof(double);
    }

    private DataPropertyModel? Indexed(Expression expression) =>
        TryBind(expression, out var property) && property is DataPropertyModel { IsIndexed: true } data ? data : null;

    private DataPropertyModel? IndexedScalar(Expression expression) =>
        Indexed(expression) is { } data && DataValues.IsScalar(data.Type) && Exact(data.Type) ? data : null;

    private static bool ConstantValue(Expression expression, out object? value)
    {
        while (expression is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked } convert)
        {
            expression = convert.Operand;
        }

        if (expression is ConstantExpression constant)
        {
            value = constant.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>A row's stored value as <typeparamref name="T"/>: the key (storage name null) or a data value; default when absent.</summary>
    private static T Read<T>(Row row, string? storageName, Type propertyType)
    {
        object? value = storageName is null ? row.Key : row.GetData(storageName);
        if (value is T direct)
        {
            return direct; // no copy: the filter only reads it
        }

        return DataValues.ConvertTo(DataValues.ConvertTo(value, propertyType), typeof(T)) is T converted ? converted : default!;
    }

    /// <summary>Replaces constants (other than the property bindings' own) with reads from the argument array.</summary>
    private sealed class ConstantLifter(ParameterExpression values) : ExpressionVisitor
    {
        public List<object?> Values { get; } = [];

        protected override Expression VisitConstant(ConstantExpression node)
        {
            Values.Add(node.Value);
            return Expression.Convert(Expression.ArrayIndex(values, Expression.Constant(Values.Count - 1)), node.Type);
        }

        protected override Expression VisitMethodCall(MethodCallExpression node) =>
            node.Method.IsGenericMethod && node.Method.GetGenericMethodDefinition() == s_read ? node : base.VisitMethodCall(node);
    }

    private sealed class Rewriter(FilterCompiler compiler, ParameterExpression row) : ExpressionVisitor
    {
        public bool UnboundRecordUse { get; private set; }

        public override Expression? Visit(Expression? node)
        {
            if (node is UnaryExpression { NodeType: ExpressionType.Convert } or MemberExpression or MethodCallExpression
                && compiler.TryBind(node, out var property))
            {
                if (property is VectorPropertyModel)
                {
                    throw new NotSupportedException($"Vector property '{property.ModelName}' cannot be used in a filter.");
                }

                string? storageName = property is KeyPropertyModel ? null : property.StorageName;
                return Expression.Call(s_read.MakeGenericMethod(node.Type), row,
                    Expression.Constant(storageName, typeof(string)), Expression.Constant(property.Type, typeof(Type)));
            }

            return base.Visit(node);
        }

        protected override Expression VisitMethodCall(MethodCallExpression node)
        {
            // C# 14 binds array.Contains(x) to MemoryExtensions.Contains over a span; spans cannot live in a compiled
            // delegate's closure, so the call becomes the equivalent Enumerable.Contains.
            if (node.Method.DeclaringType == typeof(MemoryExtensions) && TryMatchContains(node, out var source, out var item))
            {
                var visitedSource = Visit(source)!;
                var visitedItem = Visit(item)!;
                var elementType = visitedItem.Type;
                var enumerableType = typeof(IEnumerable<>).MakeGenericType(elementType);
                var contains = typeof(Enumerable).GetMethods()
                    .Single(m => m.Name == nameof(Enumerable.Contains) && m.GetParameters().Length == 2)
                    .MakeGenericMethod(elementType);
                return Expression.Call(contains, Expression.Convert(visitedSource, enumerableType), visitedItem);
            }

            return base.VisitMethodCall(node);
        }

        protected override Expression VisitParameter(ParameterExpression node)
        {
            if (node == compiler.RecordParameter)
            {
                UnboundRecordUse = true;
            }

            return base.VisitParameter(node);
        }

        protected override Expression VisitBinary(BinaryExpression node)
        {
            // r["Name"] == (object)"x" compares references in C#; a filter means the values.
            if (node is { NodeType: ExpressionType.Equal or ExpressionType.NotEqual, Method: null }
                && node.Left.Type == typeof(object) && node.Right.Type == typeof(object))
            {
                Expression equals = Expression.Call(s_objectEquals, Visit(node.Left)!, Visit(node.Right)!);
                return node.NodeType == ExpressionType.Equal ? equals : Expression.Not(equals);
            }

            return base.VisitBinary(node);
        }
    }
}
