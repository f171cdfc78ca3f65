#version 330 core
// Mesh pass: linear-light shading with lights fixed in the world (every view sees the same lit head),
// one label per face, camera-space depth. Render targets are super-sampled; resolve.frag averages them.
in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color;
in vec3 v_tangent;
in float v_occlusion;
in float v_view_depth;

layout(location = 0) out vec4 o_color;  // linear RGB, alpha 1 = covered
layout(location = 1) out uint o_label;  // head360.labels.Label
layout(location = 2) out float o_depth; // camera-space z

const int SKIN = 0;
const int HAIR = 1;
const int EYE = 2;
const int TEETH = 3;
const int CAVITY = 4;
const int PLAIN = 5;

uniform int u_material;
uniform vec3 u_camera_position;     // world
uniform bool u_has_texture;
uniform bool u_texture_cutout;      // RGBA texture: alpha < 0.5 is a hole (hair cards)
uniform sampler2D u_texture;        // sRGB texture: sampling returns linear values
uniform bool u_has_face_label;
uniform usamplerBuffer u_face_label; // one label per triangle, indexed by gl_PrimitiveID
uniform uint u_label;

// Lights, fixed in the world (directions point towards the light). The key comes from the front, upper
// left of the image; a fill from the other side; two back lights so the back and the sides of the head
// are lit for the 360-degree views; a sky/ground hemisphere for the ambient term.
const vec3 KEY_DIR = vec3(0.42, 0.55, 0.72);
const vec3 KEY_RGB = vec3(1.45, 1.38, 1.28);
const vec3 FILL_DIR = vec3(-0.70, 0.20, 0.45);
const vec3 FILL_RGB = vec3(0.50, 0.53, 0.58);
const vec3 BACK_LEFT_DIR = vec3(0.65, 0.35, -0.68);
const vec3 BACK_LEFT_RGB = vec3(0.62, 0.60, 0.58);
const vec3 BACK_RIGHT_DIR = vec3(-0.60, 0.45, -0.66);
const vec3 BACK_RIGHT_RGB = vec3(0.50, 0.52, 0.56);
const vec3 SKY_RGB = vec3(0.40, 0.42, 0.46);
const vec3 GROUND_RGB = vec3(0.20, 0.18, 0.17);

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}

// Wrap-around diffuse: light reaches past the terminator (a cheap subsurface-scattering look).
float wrapped(vec3 n, vec3 l, float wrap) {
    return max((dot(n, l) + wrap) / (1.0 + wrap), 0.0);
}

// Kajiya-Kay specular along the strand direction t.
float kajiya_kay(vec3 t, vec3 h, float exponent) {
    float th = dot(t, h);
    return pow(sqrt(max(1.0 - th * th, 0.0)), exponent);
}

vec3 light_term(vec3 n, vec3 v, vec3 t, vec3 albedo, vec3 l, vec3 rgb) {
    l = normalize(l);
    vec3 h = normalize(l + v);
    float ndl = max(dot(n, l), 0.0);
    if (u_material == SKIN) {
        float w = wrapped(n, l, 0.45);
        // light that wraps past the terminator comes out reddish (scattered through the skin)
        vec3 diffuse = albedo * (ndl + (w - ndl) * vec3(1.0, 0.55, 0.45));
        float sheen = pow(max(dot(n, h), 0.0), 20.0) * 0.035 * ndl;
        return rgb * (diffuse + vec3(sheen));
    }
    if (u_material == HAIR) {
        float w = wrapped(n, l, 0.6);
        float primary = kajiya_kay(t, h, 60.0) * 0.08;
        float secondary = kajiya_kay(t, normalize(h + 0.25 * n), 16.0) * 0.06;
        return rgb * (albedo * w * 0.9 + (vec3(primary) + secondary * albedo) * w);
    }
    if (u_material == EYE) {
        float spec = pow(max(dot(n, h), 0.0), 180.0) * 0.55;
        return rgb * (albedo * wrapped(n, l, 0.2) + vec3(spec) * step(0.0, dot(n, l)));
    }
    if (u_material == TEETH) {
        float spec = pow(max(dot(n, h), 0.0), 40.0) * 0.12;
        return rgb * (albedo * wrapped(n, l, 0.3) + vec3(spec) * ndl);
    }
    if (u_material == CAVITY) {
        return rgb * albedo * ndl * 0.15;
    }
    return rgb * albedo * ndl;
}

void main() {
    vec3 albedo;
    if (u_has_texture) {
        vec4 texel = texture(u_texture, v_uv);
        if (u_texture_cutout && texel.a < 0.5) discard;
        albedo = texel.rgb * srgb_to_linear(v_color);
    } else {
        albedo = srgb_to_linear(v_color);
    }

    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_camera_position - v_world);
    bool two_sided = u_material == HAIR;
    if (!gl_FrontFacing) {
        if (two_sided) {
            n = -n;
        } else {
            // Looking through an opening at the inside of a shell: dark, never lit skin.
            o_color = vec4(albedo * 0.025, 1.0);
            o_label = u_has_face_label ? texelFetch(u_face_label, gl_PrimitiveID).r : u_label;
            o_depth = v_view_depth;
            return;
        }
    }
    vec3 t = v_tangent;
    if (dot(t, t) < 1e-12) t = vec3(0.0, -1.0, 0.0); // hair falls down unless told otherwise
    t = normalize(t - n * dot(n, t) + vec3(1e-6, 0.0, 0.0));

    float ao = clamp(v_occlusion, 0.0, 1.0);
    vec3 color = albedo * mix(GROUND_RGB, SKY_RGB, 0.5 + 0.5 * n.y) * ao;
    float direct_ao = mix(1.0, ao, 0.6);
    color += direct_ao * light_term(n, v, t, albedo, KEY_DIR, KEY_RGB);
    color += direct_ao * light_term(n, v, t, albedo, FILL_DIR, FILL_RGB);
    color += direct_ao * light_term(n, v, t, albedo, BACK_LEFT_DIR, BACK_LEFT_RGB);
    color += direct_ao * light_term(n, v, t, albedo, BACK_RIGHT_DIR, BACK_RIGHT_RGB);
    if (u_material == CAVITY) color = albedo * 0.08 * ao + color;

    o_color = vec4(color, 1.0);
    o_label = u_has_face_label ? texelFetch(u_face_label, gl_PrimitiveID).r : u_label;
    o_depth = v_view_depth;
}
