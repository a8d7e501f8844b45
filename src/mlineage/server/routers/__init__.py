"""The server's endpoint groups, one APIRouter per module."""
