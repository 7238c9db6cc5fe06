using System.Text;
using System.Text.Json;
using k8s.Models;

namespace Sidecars.Kubernetes;

/// <summary>
/// A JSON merge patch that sets annotations (or removes those given null) on one object, naming its uid so that the
/// patch fails (409/422) on an object of the same name that replaced it.
/// </summary>
public static class AnnotationPatch
{
    public static V1Patch For(string uid, IEnumerable<KeyValuePair<string, string?>> annotations)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteString("uid", uid);
            json.WriteStartObject("annotations");
            foreach (var (key, value) in annotations)
            {
                if (value is null)
                {
                    json.WriteNull(key);
                }
                else
                {
                    json.WriteString(key, value);
                }
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return new V1Patch(Encoding.UTF8.GetString(stream.ToArray()), V1Patch.PatchType.MergePatch);
    }
}
