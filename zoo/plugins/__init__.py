"""Plugin hooks and discovery."""
from .hookspecs import hookimpl, hookspec
from .manager import PluginManager, PluginStatus, get_manager, get_registry

__all__ = ["PluginManager", "PluginStatus", "get_manager", "get_registry", "hookimpl", "hookspec"]
