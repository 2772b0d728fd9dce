"""The console's views, one module each (imported by kata_console.app)."""
