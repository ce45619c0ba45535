import ProcmgrHTTP
import Testing

@Suite("The API's share of the descriptor limit")
struct ConnectionBudgetTests {
    @Test("a high limit leaves the configured cap as it is")
    func highLimit() {
        let budget = ConnectionBudget(configured: 512, descriptorLimit: 1_048_576, processes: 1_000)
        #expect(budget.maxConnections == 512)
        #expect(budget.reserved == 256 + 8 * 1_000)
    }

    @Test("a low limit: the API gets what supervision leaves over")
    func lowLimit() {
        // 1,024 − (256 + 8 × 50) = 368 < 512
        #expect(ConnectionBudget(configured: 512, descriptorLimit: 1_024, processes: 50).maxConnections == 368)
    }

    @Test("never fewer than a handful, so /healthz can answer on a starved agent")
    func floor() {
        #expect(ConnectionBudget(configured: 512, descriptorLimit: 1_024, processes: 1_000).maxConnections == 16)
        #expect(ConnectionBudget(configured: 4, descriptorLimit: 1_048_576, processes: 0).maxConnections == 16)
    }
}
