"""switch: the VX11 model router (optional under the solo_madre policy)."""
