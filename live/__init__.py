"""The live transport: dashboards get a snapshot, then every change they may see, on any process.

It knows viewers and audiences, never call rules: the domain builds each message with its
audience and payload (encoded once), and registers where snapshots come from (`sources`).

- `audience`: who is watching (`Viewer`) and who may receive a message (`Audience`);
- `messages`: the shapes that travel over the channel layer;
- `publish`: sending committed changes to every process;
- `versions`: dropping copies older than what was already sent;
- `sources`: what the domain apps register (viewers, snapshots, periodic jobs);
- `hub`: each process's one subscriber, fanning out to its own sockets;
- `consumer`: the dashboard WebSocket.
"""
