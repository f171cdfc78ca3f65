#version 330 core
// Super-sample resolve: each output pixel reads its s x s samples.
// rgb: average of the linear colours, composited over the background, sRGB-encoded;
// alpha: covered fraction; label: background unless at least half the samples are covered, then the
// most frequent label among the covered samples (never blended); depth: mean camera depth of the
// samples with that label (0 for background).
uniform sampler2D u_color;   // linear RGB + coverage
uniform usampler2D u_label;
uniform sampler2D u_depth;   // camera-space z, 0 where empty
#ifndef SUPERSAMPLE
#define SUPERSAMPLE 2        // s, 1..4: set by the renderer so that the loops unroll
#endif
uniform vec3 u_background;   // linear

layout(location = 0) out vec4 o_rgba;   // sRGB colour + alpha, stored as RGBA8
layout(location = 1) out uint o_label;
layout(location = 2) out float o_depth;

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    const int n = SUPERSAMPLE * SUPERSAMPLE;
    ivec2 base = ivec2(gl_FragCoord.xy) * SUPERSAMPLE;
    vec4 sum = vec4(0.0);
    uint labels[n];
    float depths[n];
    bool covered[n];
    for (int i = 0; i < n; ++i) {
        ivec2 p = base + ivec2(i % SUPERSAMPLE, i / SUPERSAMPLE);
        vec4 c = texelFetch(u_color, p, 0);
        sum += vec4(c.rgb * c.a, c.a);
        covered[i] = c.a > 0.5;
        labels[i] = covered[i] ? texelFetch(u_label, p, 0).r : 0u;
        depths[i] = covered[i] ? texelFetch(u_depth, p, 0).r : 1e30;
    }
    // Foreground when at least half the samples are covered; then the most frequent label among the
    // covered samples, a tie going to the nearest surface.
    int num_covered = 0;
    for (int i = 0; i < n; ++i) num_covered += int(covered[i]);
    int best = -1;
    int best_count = 0;
    if (2 * num_covered >= n) {
        for (int i = 0; i < n; ++i) {
            if (!covered[i]) continue;
            int count = 0;
            for (int j = 0; j < n; ++j) count += int(covered[j] && labels[j] == labels[i]);
            if (count > best_count || (count == best_count && best >= 0 && depths[i] < depths[best])) {
                best = i;
                best_count = count;
            }
        }
    }
    float depth_sum = 0.0;
    float depth_n = 0.0;
    if (best >= 0) {
        for (int i = 0; i < n; ++i) {
            if (covered[i] && labels[i] == labels[best]) {
                depth_sum += depths[i];
                depth_n += 1.0;
            }
        }
    }
    vec4 mean = sum / float(n);
    vec3 rgb = mean.rgb + (1.0 - mean.a) * u_background;
    o_rgba = vec4(linear_to_srgb(rgb), mean.a);
    o_label = best >= 0 ? labels[best] : 0u;
    o_depth = depth_n > 0.0 ? depth_sum / depth_n : 0.0;
}
