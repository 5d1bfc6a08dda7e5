// `stack status` with KAFKA_NODES=3: the KRaft controller quorum through the admin API (DescribeMetadataQuorum),
// run with Java's single-file source launcher: java -cp '<kafka libs>/*' QuorumStatus.java <bootstrap servers>.
// Prints one line: clusterId=… leaderId=… leaderEpoch=… highWatermark=… voters=1:0,2:0,3:0 (id:log end offset).
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.QuorumInfo;

public class QuorumStatus {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    try (Admin admin = Admin.create(props)) {
      String clusterId = admin.describeCluster().clusterId().get();
      QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get();
      String voters = q.voters().stream().map(v -> v.replicaId() + ":" + v.logEndOffset()).collect(Collectors.joining(","));
      System.out.println("clusterId=" + clusterId + " leaderId=" + q.leaderId() + " leaderEpoch=" + q.leaderEpoch() + " highWatermark=" + q.highWatermark() + " voters=" + voters);
    }
  }
}
