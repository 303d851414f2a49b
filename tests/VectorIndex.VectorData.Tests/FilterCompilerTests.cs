using Microsoft.Extensions.VectorData;
using VectorIndex.VectorData.Filters;
using VectorIndex.VectorData.Model;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData.Tests;

public class FilterCompilerTests
{
    [Fact]
    public void Equality_and_contains_on_indexed_properties_become_index_terms()
    {
        var model = new VectorIndexModelBuilder().Build(typeof(Hotel), typeof(Guid), null, null);
        string[] names = ["x", "y"];
        System.Linq.Expressions.Expression<Func<Hotel, bool>> filter = h => h.Name == "a" && h.Rating > 2;
        var compiled = FilterCompiler.Compile(filter, model);
        compiled.Terms.Should().ContainSingle().Which.Should().BeEquivalentTo(new IndexTerm("Name", ["a"]));
        compiled.CoveredByTerms.Should().BeFalse("Rating > 2 still needs the predicate");
        filter = h => names.Contains(h.Name!);
        compiled = FilterCompiler.Compile(filter, model);
        compiled.Terms.Single().Values.Should().Equal("x", "y");
        compiled.CoveredByTerms.Should().BeTrue();
        filter = h => h.Name == null && names.Contains(h.Name!);
        FilterCompiler.Compile(filter, model).CoveredByTerms.Should().BeTrue();
        filter = h => h.Name == "a" || h.Rating > 2;
        FilterCompiler.Compile(filter, model).Terms.Should().BeEmpty("a disjunction cannot be narrowed by one side");
        filter = h => h.Rating == 3;
        FilterCompiler.Compile(filter, model).Terms.Should().BeEmpty("Rating is not indexed");
    }

    [Fact]
    public void Filters_of_one_shape_share_a_compiled_delegate_and_keep_their_own_values()
    {
        var cache = new FilterCache();
        var model = new VectorIndexModelBuilder().Build(typeof(FilterRecord), typeof(int), null, null);
        var row = new Row(1, 0, new Dictionary<string, object?> { ["Age"] = 3, ["Name"] = "n" }, []);
        for (int x = 0; x < 6; x++)
        {
            System.Linq.Expressions.Expression<Func<FilterRecord, bool>> equal = r => r.Age == x;
            FilterCompiler.Compile(equal, model, cache).Predicate(row).Should().Be(x == 3);
        }

        cache.Count.Should().Be(1);
        int limit = 2;
        System.Linq.Expressions.Expression<Func<FilterRecord, bool>> greater = r => r.Age > limit;
        FilterCompiler.Compile(greater, model, cache).Predicate(row).Should().BeTrue();
        cache.Count.Should().Be(2);

        var dynamicModel = new VectorIndexModelBuilder().BuildDynamic(new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Key", typeof(int)), new VectorStoreDataProperty("Name", typeof(string)), new VectorStoreDataProperty("Other", typeof(string))],
        }, null);
        System.Linq.Expressions.Expression<Func<Dictionary<string, object?>, bool>> byName = r => (string)r["Name"]! == "n";
        System.Linq.Expressions.Expression<Func<Dictionary<string, object?>, bool>> byOther = r => (string)r["Other"]! == "n";
        FilterCompiler.Compile(byName, dynamicModel, cache).Predicate(row).Should().BeTrue();
        FilterCompiler.Compile(byOther, dynamicModel, cache).Predicate(row).Should().BeFalse("the property names are part of the shape");
        cache.Count.Should().Be(4);
    }
}
