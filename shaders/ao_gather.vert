#version 330 core
// Ambient occlusion, pass 2: one point per vertex. For each axis of the depth-map array the vertex
// faces one of its two directions (+a or -a); it is lit from that direction when it is not behind the
// nearest surface seen from there (bilinear percentage-closer filtering of four texels), tested a
// little off the surface along its normal. The result is the cosine-weighted fraction of lit
// directions over the vertex's hemisphere.
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;

uniform sampler2DArray u_extents;   // RG32F per axis: (max s, max -s), -2 where empty
uniform sampler2D u_lights;         // [3, A] RGBA32F: rows x, y, s of each axis' world -> map transform
uniform int u_axes;
uniform float u_normal_offset;      // world units
uniform float u_bias;               // in units of s (s spans -1..1 over the mesh's bounding sphere)
uniform ivec2 u_target_size;

flat out float v_occlusion;

void main() {
    vec3 n = a_normal;
    float len = length(n);
    n = len > 0.0 ? n / len : vec3(0.0);
    vec4 p = vec4(a_position + n * u_normal_offset, 1.0);
    int size = textureSize(u_extents, 0).x;
    float lit = 0.0;
    float total = 0.0;
    for (int i = 0; i < u_axes; ++i) {
        vec4 r0 = texelFetch(u_lights, ivec2(0, i), 0);
        vec4 r1 = texelFetch(u_lights, ivec2(1, i), 0);
        vec4 r2 = texelFetch(u_lights, ivec2(2, i), 0);
        float c = len > 0.0 ? dot(n, normalize(r2.xyz)) : 1.0;  // cosine to +a
        bool positive = c >= 0.0;
        float w = abs(c);
        if (w <= 0.0) continue;
        float s = dot(r2, p);
        float own = positive ? s : -s;
        vec2 texel = (vec2(dot(r0, p), dot(r1, p)) * 0.5 + 0.5) * float(size) - 0.5;
        ivec2 base = ivec2(floor(texel));
        vec2 f = texel - vec2(base);
        float vis[4];
        for (int k = 0; k < 4; ++k) {
            ivec2 q = clamp(base + ivec2(k & 1, k >> 1), ivec2(0), ivec2(size - 1));
            vec2 extent = texelFetch(u_extents, ivec3(q, i), 0).rg;
            float nearest = positive ? extent.r : extent.g;
            vis[k] = own >= nearest - u_bias ? 1.0 : 0.0;
        }
        float v = mix(mix(vis[0], vis[1], f.x), mix(vis[2], vis[3], f.x), f.y);
        lit += w * v;
        total += w;
    }
    v_occlusion = total > 0.0 ? lit / total : 1.0;
    int id = gl_VertexID;
    vec2 target = vec2(float(id % u_target_size.x) + 0.5, float(id / u_target_size.x) + 0.5);
    gl_Position = vec4(target / vec2(u_target_size) * 2.0 - 1.0, 0.0, 1.0);
    gl_PointSize = 1.0;
}
