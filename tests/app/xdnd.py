"""Send a desktop file drop (the XDND protocol, as a file manager does) to an X window, with python-xlib.

    python tests/app/xdnd.py WINDOW_ID PATH [PATH ...]

Prints ``status=<bool> finished=<bool>``: whether the target accepted the drag (XdndStatus) and
confirmed the drop (XdndFinished) after reading the ``text/uri-list`` selection.
"""

from __future__ import annotations

import sys
import time
from urllib.parse import quote

from Xlib import X, display
from Xlib.protocol import event


def drop(target_id: int, paths: list[str], timeout: float = 20.0) -> tuple[bool, bool]:
    d = display.Display()
    root = d.screen().root
    source = root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
    atom = d.intern_atom
    selection, uri_list = atom("XdndSelection"), atom("text/uri-list")
    target = d.create_resource_object("window", target_id)
    source.set_selection_owner(selection, X.CurrentTime)

    def send(name: str, data: list[int]) -> None:
        target.send_event(event.ClientMessage(window=target, client_type=atom(name), data=(32, data)), event_mask=0)
        d.flush()

    payload = "".join("file://" + quote(p) + "\r\n" for p in paths).encode()
    send("XdndEnter", [source.id, 5 << 24, uri_list, 0, 0])  # protocol version 5, one type
    send("XdndPosition", [source.id, 0, (200 << 16) | 200, X.CurrentTime, atom("XdndActionCopy")])
    status = finished = dropped = False
    end = time.time() + timeout
    while time.time() < end and not finished:
        while d.pending_events():
            ev = d.next_event()
            if ev.type == X.ClientMessage:
                name = d.get_atom_name(ev.client_type)
                if name == "XdndStatus":
                    status = True
                    if not dropped:
                        send("XdndDrop", [source.id, 0, X.CurrentTime, 0, 0])
                        dropped = True
                elif name == "XdndFinished":
                    finished = True
            elif ev.type == X.SelectionRequest:
                requestor = ev.requestor
                prop = ev.property or ev.target
                requestor.change_property(prop, ev.target, 8, payload)
                note = event.SelectionNotify(
                    time=ev.time, requestor=requestor, selection=ev.selection, target=ev.target, property=prop
                )
                requestor.send_event(note)
                d.flush()
        time.sleep(0.01)
    d.close()
    return status, finished


if __name__ == "__main__":
    ok_status, ok_finished = drop(int(sys.argv[1], 0), sys.argv[2:])
    print(f"status={ok_status} finished={ok_finished}")
