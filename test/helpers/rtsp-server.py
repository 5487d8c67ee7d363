#!/usr/bin/python3
"""A real RTSP server for tests (GStreamer gst-rtsp-server through python3-gi).

Usage: rtsp-server.py --port N [--mount /cam] [--launch '<gst pipeline ending in rtph264pay name=pay0>']
       [--image file.png] [--width 640 --height 360 --fps 15]
Prints "READY <port>" on stdout once listening. Stops on SIGTERM/SIGINT.

Pitfalls handled (see shared/design/ARCHITECTURE.md): the thread pool is raised above 1, otherwise
publisher and viewer can deadlock; h264parse config-interval=1 so every keyframe carries SPS/PPS and a
client joining (or re-joining) mid-stream can decode within one GOP.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mount", default="/cam")
    ap.add_argument("--launch", default=None)
    ap.add_argument("--image", default=None, help="PNG shown as a still camera")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--user", default=None, help="with --password: the camera asks for them (RTSP basic authentication)")
    ap.add_argument("--password", default=None)
    args = ap.parse_args()

    Gst.init(None)
    caps = f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1"
    if args.launch:
        launch = args.launch
    else:
        if args.image:
            src = f'filesrc location="{args.image}" ! pngdec ! videoconvert ! imagefreeze is-live=true ! videoscale ! videorate ! {caps}'
        else:
            src = f"videotestsrc is-live=true pattern=ball ! {caps}"
        launch = (
            f"( {src} ! videoconvert ! video/x-raw,format=I420 ! "
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} bitrate=800 ! "
            "h264parse config-interval=1 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    pool = GstRtspServer.RTSPThreadPool()
    pool.set_max_threads(4)
    server.set_thread_pool(pool)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string("user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {args.port}", file=sys.stderr)
        sys.exit(1)
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
