#version 330 core
flat in int v_id;
layout(location = 0) out int o_id;

void main() {
    o_id = v_id;
}
