"""The console's admin pages, one module per section; router.py mounts them."""
