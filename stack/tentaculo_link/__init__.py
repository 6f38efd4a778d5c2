"""tentaculo_link: the VX11 gateway, the single public entrypoint (port 8000)."""
