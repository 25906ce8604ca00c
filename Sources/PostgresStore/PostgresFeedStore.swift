import FeedStore
import PostgresNIO
