"""xnorcam trainer: Tiny-YOLO-style XNOR detectors in PyTorch, exported as darknet .cfg/.weights."""
