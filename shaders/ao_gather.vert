#version 330 core
// Ambient occlusion, pass 2: one point per vertex. For each direction of the depth-map array the
// vertex is lit when it is not behind the depth map (compared with 2x2 percentage-closer filtering);
// the occlusion factor is the cosine-weighted fraction of lit directions over the vertex's hemisphere.
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;

uniform sampler2DArrayShadow u_depth_maps;  // one layer per direction
uniform sampler2D u_lights;                 // [3, D] RGBA32F: rows of each 3x4 world -> light NDC map
uniform int u_directions;
uniform float u_normal_offset;              // world units, pushes the test point off the surface
uniform float u_bias;                       // NDC depth bias
uniform ivec2 u_target_size;

flat out float v_occlusion;

void main() {
    vec3 n = a_normal;
    float len = length(n);
    n = len > 0.0 ? n / len : vec3(0.0);
    vec4 p = vec4(a_position + n * u_normal_offset, 1.0);
    float lit = 0.0;
    float total = 0.0;
    for (int i = 0; i < u_directions; ++i) {
        vec4 r0 = texelFetch(u_lights, ivec2(0, i), 0);
        vec4 r1 = texelFetch(u_lights, ivec2(1, i), 0);
        vec4 r2 = texelFetch(u_lights, ivec2(2, i), 0);
        // The third row is the depth axis: its xyz points away from the light (scaled by 1 / radius).
        float w = max(dot(n, normalize(-r2.xyz)), 0.0);
        if (len == 0.0) w = 1.0;
        if (w <= 0.0) continue;
        vec3 ndc = vec3(dot(r0, p), dot(r1, p), dot(r2, p));
        vec3 tex = ndc * 0.5 + 0.5;
        lit += w * texture(u_depth_maps, vec4(tex.xy, float(i), tex.z - u_bias));
        total += w;
    }
    v_occlusion = total > 0.0 ? lit / total : 1.0;
    int id = gl_VertexID;
    vec2 target = vec2(float(id % u_target_size.x) + 0.5, float(id / u_target_size.x) + 0.5);
    gl_Position = vec4(target / vec2(u_target_size) * 2.0 - 1.0, 0.0, 1.0);
    gl_PointSize = 1.0;
}
